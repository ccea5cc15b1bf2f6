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
