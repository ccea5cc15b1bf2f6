import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { BlobServiceClient, RestError, type BlockBlobClient, type ContainerClient } from "@azure/storage-blob";
import { z } from "zod";
import { createRecentBlobs } from "./recent-blobs";
import { createRecentRanges } from "./recent-ranges";
import { createBundleSpool } from "./spool";
import { asBuffer, mapLimit, readAllBytes } from "@/lib/async";

export const STAGED_CONTENT_TYPE = "message/rfc822";
/** Items up to this size go up in one Put Blob request; bigger ones are streamed in blocks. */
const SINGLE_PUT_MAX_BYTES = 1024 * 1024;
const BLOCK_BYTES = 4 * 1024 * 1024;
const BLOCK_CONCURRENCY = 2;
const DELETE_CONCURRENCY = 16;
/** Staged items read lately whose bytes are kept for the next reader (see recent-blobs.ts). */
const RECENT_BLOB_MAX_BYTES = 256 * 1024;
const RECENT_TOTAL_MAX_BYTES = 8 * 1024 * 1024;
/** Bundles read lately (see stageBundle): a worker reads each bundle once while it imports its items. */
export const BUNDLE_MAX_BYTES = 8 * 1024 * 1024;
const RECENT_BUNDLES_MAX_BYTES = 24 * 1024 * 1024;
/** With local copies, memory holds only the bundles being read now: one read more costs a pread, not a download. */
const SPOOLED_BUNDLES_MAX_BYTES = 8 * 1024 * 1024;
/** Bundles read again by range (see readRange): windows read ahead, and how much of them is kept. */
const RANGE_WINDOW_BYTES = 256 * 1024;
const RECENT_RANGES_MAX_BYTES = 12 * 1024 * 1024;
/** Whole reads of one bundle before it is read by range (see readRange), and how many bundles a store counts. */
const WHOLE_READS_PER_BUNDLE = 2;
const WHOLE_READS_REMEMBERED = 10_000;
const BUNDLE_CONTENT_TYPE = "application/octet-stream";

const optionsSchema = z.object({
  connectionString: z.string().min(1, "an Azure Storage connection string is required"),
  containerName: z
    .string()
    .regex(
      /^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$/,
      "container names are 3-63 lower-case letters, digits and single dashes",
    ),
  /** Local copies of bundles (see spool.ts); none when absent or with maxBytes 0. */
  spool: z.object({ dir: z.string().min(1), maxBytes: z.number().int().min(0) }).optional(),
});
const connectorIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,100}$/, "connector ids are 1-100 letters, digits, - or _");

export type StagingStoreOptions = z.input<typeof optionsSchema>;

export interface StagedBlob {
  blobName: string;
  size: number;
}

export interface StagingStore {
  /**
   * Stores the MIME of one message once. Staging the same message again leaves the first blob
   * as it is (and stops reading the new stream); the blob only appears once fully written.
   */
  stage(connectorId: string, messageId: string, mime: Readable): Promise<StagedBlob>;
  /**
   * Stores the staged entries of many messages as one blob (a bundle, at most BUNDLE_MAX_BYTES), named
   * by the SHA-256 of its bytes: staging the same bytes again finds them (and renews their age for
   * retention), different bytes never take an existing name, so an offset recorded into a bundle
   * always points at the bytes it was computed on. `content` is read only until the returned promise
   * settles (what the store keeps of it is a copy): the caller may then fill it again.
   */
  stageBundle(connectorId: string, content: Buffer): Promise<StagedBlob>;
  /**
   * `length` bytes of a bundle from `offset`. A read takes the bundle whole and keeps it for the next
   * readers (the import reads bundles in the order they were written, so the rest of it follows), and
   * a local copy when the store has a spool: after that it is read from the copy. Without one (or
   * once the spool let it go), a bundle already read whole twice and let go again is read by range.
   */
  readRange(blobName: string, offset: number, length: number): Promise<Buffer>;
  open(blobName: string): Promise<Readable>;
  /** Stores a source file as received (a Content Export zip), replacing an earlier copy. */
  saveFile(blobName: string, content: Readable): Promise<void>;
  /** Reads a source file back, straight from storage (never from the cache of recent items). */
  openFile(blobName: string): Promise<Readable>;
  exists(blobName: string): Promise<boolean>;
  /**
   * Removes staged items last written before `cutoff` (all connectors, or one); returns how many.
   * `keep` is asked, a page of candidates at a time, which of them are still needed (items not yet
   * imported): those stay whatever their age.
   */
  purgeOlderThan(
    cutoff: Date,
    connectorId?: string,
    keep?: (blobNames: string[]) => Promise<Set<string>>,
  ): Promise<number>;
}

/** `${connectorId}/exports/${fileId}-${name}`, the name reduced to safe characters: where an export file is kept. */
export function exportFileBlobName(connectorId: string, fileId: bigint | number, name: string): string {
  const connector = connectorIdSchema.parse(connectorId);
  const safe = name.replace(/[^A-Za-z0-9._-]/g, "_").slice(0, 200);
  return `${connector}/exports/${fileId}-${safe}`;
}

/** `${connectorId}/bundles/${sha256(content)}.bundle`: where a bundle of staged messages is kept. */
export function bundleBlobName(connectorId: string, content: Buffer): string {
  const connector = connectorIdSchema.parse(connectorId);
  return `${connector}/bundles/${createHash("sha256").update(content).digest("hex")}.bundle`;
}

/** `${connectorId}/${sha256(messageId)}.eml`: safe characters whatever the message id holds. */
export function stagedBlobName(connectorId: string, messageId: string): string {
  const connector = connectorIdSchema.parse(connectorId);
  if (!messageId) throw new Error("A message id is required to stage an item");
  return `${connector}/${createHash("sha256").update(messageId).digest("hex")}.eml`;
}

function isAlreadyThere(error: unknown): boolean {
  return error instanceof RestError && (error.statusCode === 409 || error.statusCode === 412);
}

/** A staged blob that is gone (removed by retention once nothing waited for it, or by hand). */
export class StagedItemMissingError extends Error {
  override name = "StagedItemMissingError";
}

function isNotFound(error: unknown): boolean {
  return error instanceof RestError && error.statusCode === 404;
}

interface Peeked {
  head: Buffer;
  ended: boolean;
  /** The whole stream again: the bytes already read, then the rest. */
  rest: Readable;
  /** Bytes that went through `rest` so far. */
  restSize(): number;
}

export async function peek(stream: Readable, limit: number): Promise<Peeked> {
  const iterator: AsyncIterator<Buffer | string> = stream[Symbol.asyncIterator]();
  const chunks: Buffer[] = [];
  let size = 0;
  let ended = false;
  while (size <= limit) {
    const next = await iterator.next();
    if (next.done) {
      ended = true;
      break;
    }
    const chunk = asBuffer(next.value);
    chunks.push(chunk);
    size += chunk.length;
  }
  const head = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  let restSize = 0;
  async function* replay() {
    restSize += head.length;
    yield head;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
      const chunk = asBuffer(next.value);
      restSize += chunk.length;
      yield chunk;
    }
  }
  return { head, ended, rest: Readable.from(replay(), { objectMode: false }), restSize: () => restSize };
}

/** Uploads unless the blob exists; returns the size written, or undefined when it was already there. */
async function upload(container: ContainerClient, blobName: string, mime: Readable): Promise<number | undefined> {
  const blob = container.getBlockBlobClient(blobName);
  const options = { blobHTTPHeaders: { blobContentType: STAGED_CONTENT_TYPE }, conditions: { ifNoneMatch: "*" } };
  const peeked = await peek(mime, SINGLE_PUT_MAX_BYTES);
  if (peeked.ended) {
    await blob.upload(peeked.head, peeked.head.length, options);
    return peeked.head.length;
  }
  // A big item staged before is not uploaded again only to be refused at commit.
  if (await blob.exists()) return undefined;
  await blob.uploadStream(peeked.rest, BLOCK_BYTES, BLOCK_CONCURRENCY, options);
  return peeked.restSize();
}

/**
 * Puts the bundle unless it is there. When it is (a run that crashed before its commit staged the same
 * bytes), its Last-Modified is renewed so that retention, which deletes only blobs unmodified since its
 * cutoff, cannot remove it between this check and the commit that will point at it; if retention got
 * there first, it is put again.
 */
async function uploadBundle(blob: BlockBlobClient, content: Buffer): Promise<void> {
  const options = { blobHTTPHeaders: { blobContentType: BUNDLE_CONTENT_TYPE }, conditions: { ifNoneMatch: "*" } };
  for (let attempt = 1; ; attempt++) {
    try {
      await blob.upload(content, content.length, options);
      return;
    } catch (error) {
      if (!isAlreadyThere(error)) throw error;
    }
    try {
      await blob.setMetadata({ restagedat: new Date().toISOString().replace(/[^0-9]/g, "") });
      return;
    } catch (error) {
      if (!isNotFound(error) || attempt >= 3) throw error;
    }
  }
}

/** Sets `name`'s count in a map that keeps only its `limit` latest names. */
function remember(counts: Map<string, number>, name: string, count: number, limit: number) {
  counts.delete(name);
  counts.set(name, count);
  for (const [oldest] of counts) {
    if (counts.size <= limit) break;
    counts.delete(oldest);
  }
}

async function stagedSize(container: ContainerClient, blobName: string): Promise<number> {
  return (await container.getBlobClient(blobName).getProperties()).contentLength ?? 0;
}

/** Azure Blob staging of converted items; creates the container when it is missing. */
export async function createStagingStore(input: StagingStoreOptions): Promise<StagingStore> {
  const options = optionsSchema.parse(input);
  const container = BlobServiceClient.fromConnectionString(options.connectionString).getContainerClient(
    options.containerName,
  );
  await container.createIfNotExists();
  const recent = createRecentBlobs({ maxBlobBytes: RECENT_BLOB_MAX_BYTES, maxTotalBytes: RECENT_TOTAL_MAX_BYTES });
  const spool = options.spool?.maxBytes ? createBundleSpool(options.spool) : undefined;
  const bundles = createRecentBlobs({
    maxBlobBytes: BUNDLE_MAX_BYTES,
    maxTotalBytes: spool ? SPOOLED_BUNDLES_MAX_BYTES : RECENT_BUNDLES_MAX_BYTES,
  });
  const ranges = createRecentRanges({ windowBytes: RANGE_WINDOW_BYTES, maxTotalBytes: RECENT_RANGES_MAX_BYTES });

  // A bundle asked for again after it was let go holds what a few mailboxes that fell behind (Graph
  // takes at most 16 items a second per mailbox) still need, each at its own place in the run. Read
  // whole every time, some runs downloaded each bundle several times (3 GB for the 380 MB staged at
  // 20,000 messages); read by range every time it is let go, others read it by many small windows
  // where one more whole read would have done. So a bundle is read whole twice at most, then by
  // windows from the entries asked for (recent-ranges.ts).
  const wholeReads = new Map<string, number>();

  async function download(blobName: string, offset = 0, count?: number) {
    try {
      const response = await container.getBlobClient(blobName).download(offset, count, { maxRetryRequests: 5 });
      return { body: response.readableStreamBody as Readable, size: response.contentLength };
    } catch (error) {
      if (isNotFound(error))
        throw new StagedItemMissingError(
          `the staged copy of the message (${blobName} in container ${options.containerName}) no longer exists: ` +
            `retention keeps a staged item while any item of it waits or can be retried, so it was removed from the storage otherwise`,
        );
      throw error;
    }
  }

  async function downloadBytes(blobName: string, offset: number, count: number): Promise<Buffer> {
    return readAllBytes((await download(blobName, offset, count)).body);
  }

  return {
    async stage(connectorId, messageId, mime) {
      const blobName = stagedBlobName(connectorId, messageId);
      let size: number | undefined;
      try {
        size = await upload(container, blobName, mime);
      } catch (error) {
        if (!isAlreadyThere(error)) throw error;
      }
      if (size === undefined) {
        mime.destroy();
        size = await stagedSize(container, blobName);
      }
      return { blobName, size };
    },

    async stageBundle(connectorId, content) {
      if (content.length > BUNDLE_MAX_BYTES)
        throw new Error(`A bundle of ${content.length} bytes is over the limit of ${BUNDLE_MAX_BYTES}`);
      const blobName = bundleBlobName(connectorId, content);
      await uploadBundle(container.getBlockBlobClient(blobName), content);
      // The worker that collects usually imports next: a small run's bundles are never read back. The
      // spool encrypts the bytes before put returns; the cache keeps a copy.
      bundles.put(blobName, content);
      void spool?.put(blobName, content);
      return { blobName, size: content.length };
    },

    async readRange(blobName, offset, length) {
      const outside = (size?: number) =>
        new Error(
          `Staged item at ${offset}+${length} is outside bundle ${blobName}${size === undefined ? "" : ` (${size} bytes)`}`,
        );
      if (offset < 0 || length < 0) throw outside();
      if (length === 0) return Buffer.alloc(0);
      const held = bundles.holds(blobName);
      if (!held && spool) {
        const copied = await spool.read(blobName, offset, length);
        if (copied?.length === length) return copied;
        if (copied) throw outside(offset + copied.length);
      }
      const reads = wholeReads.get(blobName) ?? 0;
      if (held || reads < WHOLE_READS_PER_BUNDLE) {
        if (!held) remember(wholeReads, blobName, reads + 1, WHOLE_READS_REMEMBERED);
        const bytes = await bundles.read(blobName, () => download(blobName));
        if (!held) void spool?.put(blobName, bytes);
        if (offset + length > bytes.length) throw outside(bytes.length);
        return bytes.subarray(offset, offset + length);
      }
      const bytes = await ranges.read(blobName, offset, length, (from, count) => downloadBytes(blobName, from, count));
      if (bytes.length !== length) throw outside(offset + bytes.length);
      return bytes;
    },

    open: (blobName) => recent.open(blobName, () => download(blobName)),

    exists: (blobName) => container.getBlobClient(blobName).exists(),

    openFile: async (blobName) => (await download(blobName)).body,

    async saveFile(blobName, content) {
      const blob = container.getBlockBlobClient(blobName);
      await blob.uploadStream(content, BLOCK_BYTES, BLOCK_CONCURRENCY, {
        blobHTTPHeaders: { blobContentType: "application/octet-stream" },
      });
    },

    async purgeOlderThan(cutoff, connectorId, keep) {
      recent.clear();
      bundles.clear();
      ranges.clear();
      wholeReads.clear();
      spool?.clear();
      const prefix = connectorId === undefined ? undefined : `${connectorIdSchema.parse(connectorId)}/`;
      let removed = 0;
      for await (const page of container.listBlobsFlat({ prefix }).byPage({ maxPageSize: 1000 })) {
        const candidates = page.segment.blobItems.filter((item) => item.properties.lastModified < cutoff);
        const kept =
          keep && candidates.length > 0 ? await keep(candidates.map((item) => item.name)) : new Set<string>();
        const old = candidates.filter((item) => !kept.has(item.name));
        const deleted = await mapLimit(
          old,
          DELETE_CONCURRENCY,
          async (item) =>
            await container.deleteBlob(item.name, { conditions: { ifUnmodifiedSince: cutoff } }).then(
              () => true,
              (error: unknown) => {
                if (isNotFound(error) || isAlreadyThere(error)) return false;
                throw error;
              },
            ),
        );
        removed += deleted.filter(Boolean).length;
      }
      return removed;
    },
  };
}
