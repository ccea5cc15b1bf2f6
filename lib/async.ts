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

/** One load in flight per key; a failed load is forgotten, so the next call tries again. */
export function cachedLoad<K, V>(cache: Map<K, Promise<V>>, key: K, load: (key: K) => Promise<V>): Promise<V> {
  let entry = cache.get(key);
  if (!entry) {
    entry = load(key);
    cache.set(key, entry);
    entry.catch(() => cache.delete(key));
  }
  return entry;
}

export type Lease<V> = {
  /** The shared value, loaded by the first holder that asks; a failed load is forgotten. */
  load(load: () => Promise<V>): Promise<V>;
  release(): void;
};

/** Values shared by the holders of one key and dropped when the last holder releases it. */
export function createSharedLoads<V>(): { lease(key: string): Lease<V> } {
  const entries = new Map<string, { value?: Promise<V>; holders: number }>();
  return {
    lease(key) {
      const entry = entries.get(key) ?? { holders: 0 };
      entry.holders += 1;
      entries.set(key, entry);
      let released = false;
      return {
        load(load) {
          if (!entry.value) {
            const value = load();
            entry.value = value;
            value.catch(() => {
              if (entry.value === value) entry.value = undefined;
            });
          }
          return entry.value;
        },
        release() {
          if (released) return;
          released = true;
          entry.holders -= 1;
          if (entry.holders === 0) entries.delete(key);
        },
      };
    },
  };
}
