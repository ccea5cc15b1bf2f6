import { Readable } from "node:stream";
import { readAllBytes } from "@/lib/async";

export type Download = () => Promise<{ body: Readable; size: number | undefined }>;

export type RecentBlobs = {
  /** The blob's content: kept bytes if it was read lately (or is being read), else `download`'s stream. */
  open(blobName: string, download: Download): Promise<Readable>;
  /** The blob's bytes, kept for the next reader when within the limits. */
  read(blobName: string, download: Download): Promise<Buffer>;
  /**
   * Keeps a copy of bytes just written (a blob that never changes, such as a bundle named by its
   * hash) if there is room without letting anything go: what was written first is read first, and a
   * run bigger than the cache must not push out its oldest bundles before they are read.
   */
  put(blobName: string, bytes: Buffer): void;
  /** Whether the blob's bytes are kept (or being read to be kept). */
  holds(blobName: string): boolean;
  clear(): void;
};

/**
 * Keeps the bytes of small blobs read lately. The import reads a staged message once per mailbox,
 * and a message's items are claimed together, so most reads are of a blob read a moment ago; staged
 * blobs are never rewritten (they are created once, if absent), so their bytes cannot go stale.
 * Bigger blobs are streamed every time. Oldest first out, within `maxTotalBytes`.
 */
export function createRecentBlobs({
  maxBlobBytes,
  maxTotalBytes,
}: {
  maxBlobBytes: number;
  maxTotalBytes: number;
}): RecentBlobs {
  // undefined: not kept (too big, or the read failed): the caller downloads its own copy.
  const entries = new Map<string, Promise<Buffer | undefined>>();
  const kept = new Map<string, number>();
  let keptBytes = 0;

  function keep(blobName: string, size: number) {
    kept.set(blobName, size);
    keptBytes += size;
    for (const [oldest, oldestSize] of kept) {
      if (keptBytes <= maxTotalBytes) break;
      kept.delete(oldest);
      entries.delete(oldest);
      keptBytes -= oldestSize;
    }
  }

  async function first(blobName: string, download: Download): Promise<Readable> {
    let share!: (bytes: Buffer | undefined) => void;
    entries.set(blobName, new Promise((resolve) => (share = resolve)));
    try {
      const { body, size } = await download();
      if (size === undefined || size > maxBlobBytes) {
        entries.delete(blobName);
        share(undefined);
        return body;
      }
      const chunks: Buffer[] = [];
      for await (const chunk of body) chunks.push(chunk as Buffer);
      const bytes = Buffer.concat(chunks);
      share(bytes);
      keep(blobName, bytes.length);
      return bytesStream(bytes);
    } catch (error) {
      entries.delete(blobName);
      share(undefined);
      throw error;
    }
  }

  return {
    async open(blobName, download) {
      const entry = entries.get(blobName);
      if (!entry) return first(blobName, download);
      const bytes = await entry;
      return bytes ? bytesStream(bytes) : (await download()).body;
    },
    async read(blobName, download) {
      const entry = entries.get(blobName);
      const bytes = entry ? await entry : undefined;
      return bytes ?? readAllBytes(await (entry ? (await download()).body : first(blobName, download)));
    },
    put(blobName, bytes) {
      if (entries.has(blobName) || bytes.length > maxBlobBytes || keptBytes + bytes.length > maxTotalBytes) return;
      entries.set(blobName, Promise.resolve(Buffer.from(bytes)));
      keep(blobName, bytes.length);
    },
    holds: (blobName) => entries.has(blobName),
    clear() {
      entries.clear();
      kept.clear();
      keptBytes = 0;
    },
  };
}

function bytesStream(bytes: Buffer): Readable {
  return Readable.from([bytes], { objectMode: false });
}
