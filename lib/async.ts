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
