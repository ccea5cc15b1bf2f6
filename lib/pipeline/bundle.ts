// Staged bundles: the collected messages of the batches in flight go up together as one blob, so that
// blob storage sees about one write per few hundred messages instead of one per message (and the
// import one read per bundle and worker). A batch is recorded only once the bundle holding its
// messages is stored: the collect transaction then points each SourceMessage at (bundle, offset).
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

/** Buffers of stored bundles kept to be filled again: one being filled while another is stored. */
const SPARE_BUFFERS = 2;

type Waiting = { offset: number; resolve: (at: BundledAt) => void; reject: (error: unknown) => void };

/** The bundle being filled: its entries' bytes, copied into `bytes` as they are added. */
type OpenBundle = { bytes: Buffer; used: number; waiting: Waiting[]; timer?: NodeJS.Timeout };

export type Bundler = {
  /** Runs one unit's reading as a producer: the bundle does not wait for a unit that has ended. */
  producer<T>(work: () => Promise<T>): Promise<T>;
  /** Copies an entry into the open bundle; resolves once the bundle holding it is stored. */
  add(entry: BundleEntry): Promise<BundledAt>;
  /** Waits (as a producer that will add nothing more until then) for entries added by `add`. */
  settle(locations: Promise<BundledAt>[]): Promise<BundledAt[]>;
};

/**
 * Entries are copied into the open bundle's buffer as they are added, and a stored bundle's buffer is
 * filled again by a later one. Held until their bundle was stored (a few hundred milliseconds), the
 * entries and then their concatenation outlived V8's young generation: at 100,000 messages these
 * 8 MB of old garbage per bundle had it mark the whole heap twice a second to free them.
 */
export function createBundler(staging: StagingStore, connectorId: string, limits = defaultBundleLimits): Bundler {
  let producers = 0;
  let waiting = 0;
  let open: OpenBundle | undefined;
  const spare: Buffer[] = [];

  function store() {
    const bundle = open;
    open = undefined;
    if (!bundle) return;
    clearTimeout(bundle.timer);
    // The store reads the bytes only until it has stored them (see StagingStore.stageBundle).
    staging
      .stageBundle(connectorId, bundle.bytes.subarray(0, bundle.used))
      .then(
        ({ blobName }) => bundle.waiting.forEach(({ resolve, offset }) => resolve({ blobName, offset })),
        (error: unknown) => bundle.waiting.forEach(({ reject }) => reject(error)),
      )
      .finally(() => {
        if (spare.length < SPARE_BUFFERS && bundle.bytes.length === limits.maxBytes) spare.push(bundle.bytes);
      });
  }

  function openFor(size: number): OpenBundle {
    if (open && open.used + size > open.bytes.length) store();
    if (!open) {
      const bytes =
        size <= limits.maxBytes
          ? (spare.pop() ?? Buffer.allocUnsafeSlow(limits.maxBytes))
          : Buffer.allocUnsafeSlow(size);
      open = { bytes, used: 0, waiting: [] };
    }
    return open;
  }

  /** Everyone who could still add is waiting: nothing more will come before the bundle is stored. */
  function flushIfAllWait() {
    if (waiting >= producers) store();
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
      const bundle = openFor(mime.length + (model?.length ?? 0));
      const offset = bundle.used;
      bundle.used += mime.copy(bundle.bytes, bundle.used);
      if (model) bundle.used += model.copy(bundle.bytes, bundle.used);
      const at = new Promise<BundledAt>((resolve, reject) => bundle.waiting.push({ offset, resolve, reject }));
      if (bundle.waiting.length >= limits.maxMessages || bundle.used >= limits.maxBytes) store();
      else bundle.timer ??= setTimeout(store, limits.maxWaitMs);
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
