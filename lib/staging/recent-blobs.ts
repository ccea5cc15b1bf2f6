import { Readable } from "node:stream";

export type Download = () => Promise<{ body: Readable; size: number | undefined }>;

export type RecentBlobs = {
  /** The blob's content: kept bytes if it was read lately (or is being read), else `download`'s stream. */
  open(blobName: string, download: Download): Promise<Readable>;
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
