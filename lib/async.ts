// Small promise helpers shared by the domain folders.

/** Maps items with at most `limit` calls in flight; results keep the items' order. After a failure no new call starts. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, map: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const lane = async () => {
    while (next < items.length && !failed) {
      const index = next++;
      try {
        results[index] = await map(items[index] as T);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}

/**
 * Runs `work` on each item of a stream of pages with at most `limit` calls in flight, taking the next
 * item as soon as a lane is free: a long item holds back nothing but its own lane, whichever page it
 * came on. After a failure (of a call or of the pages) no new item is taken.
 */
export async function forEachLimit<T>(
  pages: AsyncIterable<readonly T[]>,
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  const pageIterator = pages[Symbol.asyncIterator]();
  let page: readonly T[] = [];
  let next = 0;
  let ended = false;
  let failed = false;
  // One lane at a time asks for the next page; the others wait for that same request.
  let asking: Promise<void> | undefined;
  const refill = () =>
    (asking ??= pageIterator.next().then(
      (result) => {
        asking = undefined;
        if (result.done) ended = true;
        else [page, next] = [result.value, 0];
      },
      (error: unknown) => {
        asking = undefined;
        throw error;
      },
    ));
  const take = async (): Promise<{ item: T } | undefined> => {
    while (!failed) {
      if (next < page.length) return { item: page[next++] as T };
      if (ended) return undefined;
      await refill();
    }
    return undefined;
  };
  const lane = async () => {
    try {
      for (let taken = await take(); taken; taken = await take()) await work(taken.item);
    } catch (error) {
      failed = true;
      throw error;
    }
  };
  try {
    await Promise.all(Array.from({ length: limit }, lane));
  } finally {
    if (!ended) void pageIterator.return?.(undefined)?.catch(() => {});
  }
}

/** One load in flight per key; a failed load is forgotten, so the next call tries again. */
export function cachedLoad<K, V>(cache: Map<K, Promise<V>>, key: K, load: (key: K) => Promise<V>): Promise<V> {
  const cached = cache.get(key);
  if (cached) return cached;
  const entry = load(key);
  cache.set(key, entry);
  // Forget this load only: the key may have been dropped and loaded again meanwhile.
  entry.catch(() => {
    if (cache.get(key) === entry) cache.delete(key);
  });
  return entry;
}

/**
 * Loads kept for `ttlMs` each (or, once loaded, for `ttlOf` the value), at most `maxEntries` of them
 * (the oldest go first), one in flight per key; a failed load is forgotten, so the next call tries again.
 */
export function expiringLoads<V>(ttlMs: number, maxEntries: number, ttlOf?: (value: V) => number) {
  const entries = new Map<string, { at: number; ttl: number; value: Promise<V> }>();
  return {
    get(key: string, load: (key: string) => Promise<V>): Promise<V> {
      const cached = entries.get(key);
      if (cached && Date.now() - cached.at < cached.ttl) return cached.value;
      entries.delete(key);
      const value = load(key);
      const entry = { at: Date.now(), ttl: ttlMs, value };
      entries.set(key, entry);
      if (ttlOf)
        void value.then(
          (loaded) => (entry.ttl = ttlOf(loaded)),
          () => undefined,
        );
      // A Map keeps insertion order: the first key is the oldest.
      while (entries.size > maxEntries) entries.delete(entries.keys().next().value!);
      value.catch(() => {
        if (entries.get(key) === entry) entries.delete(key);
      });
      return value;
    },
    delete(key: string): void {
      entries.delete(key);
    },
  };
}

export type Lease<V> = {
  /** The shared value, loaded by the first holder that asks; a failed load is forgotten. */
  load(load: () => Promise<V>): Promise<V>;
  release(): void;
};

/** Values shared by the holders of one key (loaded with `cachedLoad`) and dropped when the last holder releases it. */
export function createSharedLoads<V>(): { lease(key: string): Lease<V> } {
  const values = new Map<string, Promise<V>>();
  const holders = new Map<string, number>();
  return {
    lease(key) {
      holders.set(key, (holders.get(key) ?? 0) + 1);
      let released = false;
      return {
        load: (load) => cachedLoad(values, key, load),
        release() {
          if (released) return;
          released = true;
          const left = (holders.get(key) ?? 1) - 1;
          if (left > 0) {
            holders.set(key, left);
          } else {
            holders.delete(key);
            values.delete(key);
          }
        },
      };
    },
  };
}

/**
 * A value loaded again in the background at most every `everyMs`, for a loop that reads it often and
 * must never wait for it: `current()` starts a load when the last one is old enough and answers at
 * once with the last loaded value (`initial` until the first load ends; a failed load keeps it).
 * With `busyShare`, loads also wait long enough to take at most that share of the time: a load that
 * took 0.5 s waits 50 s with 0.01. `close()` waits for a load still running.
 */
export function refreshedInBackground<V>(
  load: () => Promise<V>,
  { everyMs, initial, busyShare = 1 }: { everyMs: number; initial: V; busyShare?: number },
): { current(): V; close(): Promise<void> } {
  let value = initial;
  let nextAt = -Infinity;
  let loading: Promise<void> | undefined;
  return {
    current() {
      if (!loading && Date.now() >= nextAt) {
        const startedAt = Date.now();
        loading = load()
          .then(
            (loaded) => void (value = loaded),
            () => {},
          )
          .finally(() => {
            const endedAt = Date.now();
            nextAt = endedAt + Math.max(everyMs, (endedAt - startedAt) / busyShare);
            loading = undefined;
          });
      }
      return value;
    },
    close: async () => await loading,
  };
}

export type Semaphore = {
  acquire(n: number): Promise<void>;
  release(n: number): void;
  used(): number;
  idle(): boolean;
};

/**
 * Weighted, first come first served: a large request is not starved by a stream of small ones. A
 * request for more than `limit` waits for everything else, then runs alone.
 */
export function createSemaphore(limit: number): Semaphore {
  let used = 0;
  const queue: Array<{ n: number; grant: () => void }> = [];
  const fits = (n: number) => used + n <= limit || used === 0;
  const wake = () => {
    while (queue[0] && fits(queue[0].n)) {
      const next = queue.shift()!;
      used += next.n;
      next.grant();
    }
  };
  return {
    acquire(n) {
      if (queue.length === 0 && fits(n)) {
        used += n;
        return Promise.resolve();
      }
      return new Promise((grant) => queue.push({ n, grant }));
    },
    release(n) {
      used -= n;
      wake();
    },
    used: () => used,
    idle: () => used === 0 && queue.length === 0,
  };
}

export type GroupLimits = {
  /** A group is handed over once it holds this many entries... */
  maxItems: number;
  /** ...or this much weight (an entry that would take it over starts the next group)... */
  maxWeight?: number;
  /** ...or at the latest this long after its first entry. */
  maxDelayMs: number;
};

export type Grouper<T> = {
  add(entry: T, weight?: number): void;
  /** Hands the open group over now, if it holds anything. */
  flush(): void;
  /** Entries in the open group. */
  readonly size: number;
};

/** Gathers entries into groups within the limits and hands each group to `flush`, in the order they were added. */
export function groupWithin<T>(
  { maxItems, maxWeight = Infinity, maxDelayMs }: GroupLimits,
  flush: (group: T[]) => void,
): Grouper<T> {
  let group: T[] = [];
  let weight = 0;
  let timer: NodeJS.Timeout | undefined;

  const handOver = () => {
    clearTimeout(timer);
    timer = undefined;
    const full = group;
    group = [];
    weight = 0;
    if (full.length > 0) flush(full);
  };

  return {
    add(entry, entryWeight = 0) {
      if (group.length > 0 && weight + entryWeight > maxWeight) handOver();
      group.push(entry);
      weight += entryWeight;
      if (group.length >= maxItems || weight >= maxWeight) handOver();
      else timer ??= setTimeout(handOver, maxDelayMs);
    },
    flush: handOver,
    get size() {
      return group.length;
    },
  };
}

/** A stream's chunk as a Buffer: one that is a Buffer already is kept as it is (a view of other bytes, not a copy). */
export function asBuffer(chunk: Uint8Array | string): Buffer {
  if (typeof chunk === "string") return Buffer.from(chunk);
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

/** Every byte of `source` in one Buffer; a single chunk is handed on as it is, not copied. */
export async function readAllBytes(source: AsyncIterable<Uint8Array | string>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of source) chunks.push(asBuffer(chunk));
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}
