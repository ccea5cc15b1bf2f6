// Staged bundles: the collected messages of the batches in flight go up together as one blob, so that
// blob storage sees about one write per few hundred messages instead of one per message (and the
// import one read per bundle and worker). A batch is recorded only once the bundle holding its
// messages is stored: the collect transaction then points each SourceMessage at (bundle, offset).
import { groupWithin } from "@/lib/async";
import type { StagingStore } from "@/lib/staging";

/** One message's entry: its MIME, then (optionally) its Graph model, back to back in the bundle. */
export type BundleEntry = { mime: Buffer; model?: Buffer };

/** Where an entry landed: the bundle and the offset of its MIME. */
export type BundledAt = { blobName: string; offset: number };

export type BundleLimits = {
  /** A bundle is stored as soon as it holds this many bytes... */
  maxBytes: number;
  /** ...or this many messages... */
  maxMessages: number;
  /** ...or once every unit being read waits for it, or at the latest this long after its first entry. */
  maxWaitMs: number;
};

export const defaultBundleLimits: BundleLimits = { maxBytes: 4 * 1024 * 1024, maxMessages: 2000, maxWaitMs: 250 };

const sizeOf = ({ mime, model }: BundleEntry) => mime.length + (model?.length ?? 0);

type Waiting = BundleEntry & { resolve(at: BundledAt): void; reject(error: unknown): void };

export type Bundler = {
  /** Runs one unit's reading as a producer: the bundle does not wait for a unit that has ended. */
  producer<T>(work: () => Promise<T>): Promise<T>;
  /** Adds an entry to the open bundle; resolves once the bundle holding it is stored. */
  add(entry: BundleEntry): Promise<BundledAt>;
  /** Waits (as a producer that will add nothing more until then) for entries added by `add`. */
  settle(locations: Promise<BundledAt>[]): Promise<BundledAt[]>;
};

export function createBundler(staging: StagingStore, connectorId: string, limits = defaultBundleLimits): Bundler {
  let producers = 0;
  let waiting = 0;
  const bundles = groupWithin<Waiting>(
    { maxItems: limits.maxMessages, maxWeight: limits.maxBytes, maxDelayMs: limits.maxWaitMs },
    (entries) => {
      const parts = entries.flatMap(({ mime, model }) => (model ? [mime, model] : [mime]));
      staging.stageBundle(connectorId, Buffer.concat(parts)).then(
        ({ blobName }) => {
          let offset = 0;
          for (const entry of entries) {
            entry.resolve({ blobName, offset });
            offset += sizeOf(entry);
          }
        },
        (error: unknown) => entries.forEach((entry) => entry.reject(error)),
      );
    },
  );

  /** Everyone who could still add is waiting: nothing more will come before the bundle is stored. */
  function flushIfAllWait() {
    if (waiting >= producers) bundles.flush();
  }

  return {
    async producer(work) {
      producers += 1;
      try {
        return await work();
      } finally {
        producers -= 1;
        flushIfAllWait();
      }
    },

    add({ mime, model }) {
      const at = new Promise<BundledAt>((resolve, reject) =>
        bundles.add({ mime, model, resolve, reject }, sizeOf({ mime, model })),
      );
      // A batch that failed before settling never awaits its entries: their bundle's failure is its own.
      at.catch(() => {});
      return at;
    },

    async settle(locations) {
      if (locations.length === 0) return [];
      waiting += 1;
      try {
        flushIfAllWait();
        return await Promise.all(locations);
      } finally {
        waiting -= 1;
      }
    },
  };
}
