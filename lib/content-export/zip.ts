import { Transform, type Readable, type TransformCallback } from "node:stream";
import { crc32 } from "node:zlib";
import type { Entry, ZipFile } from "yauzl";
import { ExportFileError, quoted } from "./errors";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** What a zip may declare before it is refused as a zip bomb. */
export type ZipLimits = {
  maxEntries: number;
  maxTotalBytes: number;
  /** Uncompressed / compressed, for entries larger than `ratioAppliesAbove` bytes. */
  maxCompressionRatio: number;
  ratioAppliesAbove: number;
  maxEntryBytes: number;
  /** Bytes of one entry's name (a path: Linux's PATH_MAX). */
  maxNameBytes: number;
  /**
   * Bytes of the central directory's names, extra fields and comments together: each entry's are
   * kept while the file is read (in the worker too, which reads attachments), up to 192 KB each.
   */
  maxDirectoryBytes: number;
};

export const DEFAULT_ZIP_LIMITS: ZipLimits = {
  maxEntries: 100_000,
  maxTotalBytes: 20 * GiB,
  maxCompressionRatio: 200,
  ratioAppliesAbove: MiB,
  maxEntryBytes: 8 * GiB,
  maxNameBytes: 4096,
  maxDirectoryBytes: 32 * MiB,
};

export type ZipEntryInfo = { name: string; compressedSize: number; uncompressedSize: number };

export type ExportZip = {
  entries: ZipEntryInfo[];
  /** The entry's bytes; the stream fails with an ExportFileError if they differ from what the zip declares. */
  openEntry(name: string): Promise<Readable>;
  close(): void;
};

/**
 * Opens a zip on local disk for random access. Every entry's name and declared sizes are checked
 * from the central directory before anything is read, so a hostile zip is refused as a whole.
 */
export async function openExportZip(path: string, limits: Partial<ZipLimits> = {}): Promise<ExportZip> {
  const limit = { ...DEFAULT_ZIP_LIMITS, ...limits };
  // decodeStrings is off so that yauzl's own name checks (with their own wording) do not run first:
  // names are decoded below the way yauzl does, and checked by unsafePathReason, a superset of its checks.
  const { default: yauzl } = await import("yauzl");
  const zipfile = await yauzl
    .openPromise(path, { lazyEntries: true, autoClose: false, decodeStrings: false, validateEntrySizes: true })
    .catch((error: unknown) => {
      throw asFileError(error, "the file is not a readable zip");
    });
  try {
    const byName = await readCentralDirectory(zipfile, limit);
    return {
      entries: [...byName.values()].map(({ name, entry }) => ({
        name,
        compressedSize: entry.compressedSize,
        uncompressedSize: entry.uncompressedSize,
      })),
      openEntry: async (name) => {
        const found = byName.get(name);
        if (!found) throw new ExportFileError(`the export names ${quoted(name)}, but its zip does not hold it`);
        return openCheckedEntry(zipfile, found.name, found.entry);
      },
      close: () => zipfile.close(),
    };
  } catch (error) {
    zipfile.close();
    throw error;
  }
}

async function readCentralDirectory(zipfile: ZipFile, limit: ZipLimits) {
  if (zipfile.entryCount > limit.maxEntries) {
    throw new ExportFileError(
      `the zip declares ${zipfile.entryCount} entries, more than the ${limit.maxEntries} allowed`,
    );
  }
  const { getFileNameLowLevel } = (await import("yauzl")).default;
  const byName = new Map<string, { name: string; entry: Entry }>();
  let totalBytes = 0;
  let directoryBytes = 0;
  for await (const entry of entriesOf(zipfile)) {
    if (entry.fileNameLength > limit.maxNameBytes) {
      throw new ExportFileError(
        `a zip entry's name has ${entry.fileNameLength} bytes, more than the ${limit.maxNameBytes} allowed`,
      );
    }
    directoryBytes += entry.fileNameLength + entry.extraFieldLength + entry.fileCommentLength;
    if (directoryBytes > limit.maxDirectoryBytes) {
      throw new ExportFileError(
        `the zip's entries have more than the ${limit.maxDirectoryBytes} bytes of names, extra fields and comments allowed in total`,
      );
    }
    const name = getFileNameLowLevel(entry.generalPurposeBitFlag, entry.fileNameRaw, entry.extraFields, true);
    // The name may come from an Info-ZIP Unicode Path extra field instead, of any length up to 64 KB.
    const nameBytes = Buffer.byteLength(name);
    if (nameBytes > limit.maxNameBytes) {
      throw new ExportFileError(
        `a zip entry's name has ${nameBytes} bytes, more than the ${limit.maxNameBytes} allowed`,
      );
    }
    const unsafe = unsafePathReason(name);
    if (unsafe) throw new ExportFileError(`zip entry ${quoted(name)} has an unsafe path (${unsafe})`);
    if (byName.has(name)) throw new ExportFileError(`the zip has two entries named ${quoted(name)}`);
    if (entry.isEncrypted()) throw new ExportFileError(`zip entry ${quoted(name)} is encrypted`);
    if (!entry.canDecodeFileData()) {
      throw new ExportFileError(`zip entry ${quoted(name)} uses compression method ${entry.compressionMethod}`);
    }
    const { uncompressedSize, compressedSize } = entry;
    if (uncompressedSize > limit.maxEntryBytes) {
      throw new ExportFileError(
        `zip entry ${quoted(name)} declares ${uncompressedSize} bytes, more than the ${limit.maxEntryBytes} allowed per entry`,
      );
    }
    if (uncompressedSize > limit.ratioAppliesAbove && uncompressedSize > compressedSize * limit.maxCompressionRatio) {
      const ratio = compressedSize === 0 ? "an infinite" : `a ${Math.round(uncompressedSize / compressedSize)}:1`;
      throw new ExportFileError(
        `zip entry ${quoted(name)} has ${ratio} compression ratio (${compressedSize} bytes expanding to ${uncompressedSize}), more than the ${limit.maxCompressionRatio}:1 allowed: a zip bomb`,
      );
    }
    totalBytes += uncompressedSize;
    if (totalBytes > limit.maxTotalBytes) {
      throw new ExportFileError(
        `the zip's entries declare more than the ${limit.maxTotalBytes} bytes allowed in total`,
      );
    }
    byName.set(name, { name, entry });
  }
  return byName;
}

async function* entriesOf(zipfile: ZipFile): AsyncGenerator<Entry> {
  const iterator = zipfile.eachEntry();
  for (;;) {
    const next = await iterator.next().catch((error: unknown) => {
      throw asFileError(error, "the zip's central directory is unreadable");
    });
    if (next.done) return;
    yield next.value;
  }
}

/** Why a name could write outside the folder it is extracted to (or read as something else), or undefined. */
export function unsafePathReason(name: string): string | undefined {
  if (name.includes("\0")) return "it contains a NUL character";
  if (name.includes("\\")) return "it contains a backslash";
  if (name.startsWith("/")) return "it is an absolute path";
  if (/^[A-Za-z]:/.test(name)) return "it starts with a drive letter";
  if (name.split("/").includes("..")) return "it climbs out with ..";
  if (name === "") return "it is empty";
  return undefined;
}

async function openCheckedEntry(zipfile: ZipFile, name: string, entry: Entry): Promise<Readable> {
  const source = await zipfile.openReadStreamPromise(entry).catch((error: unknown) => {
    throw asFileError(error, `zip entry ${quoted(name)} is unreadable`);
  });
  const checked = new CheckedEntry(name, entry.uncompressedSize, entry.crc32);
  source.on("error", (error) => checked.destroy(asFileError(error, `zip entry ${quoted(name)} is corrupt`) as Error));
  checked.on("close", () => {
    if (!source.destroyed) {
      source.unpipe(checked);
      source.destroy();
    }
  });
  source.pipe(checked);
  return checked;
}

/**
 * Counts the bytes actually inflated, so that a header that under-declares its size can never fill
 * memory or disk, and checks the CRC-32 (yauzl does not) so that a stored entry damaged in transit fails.
 */
class CheckedEntry extends Transform {
  private bytes = 0;
  private crc = 0;

  constructor(
    private readonly entryName: string,
    private readonly declaredBytes: number,
    private readonly declaredCrc: number,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback) {
    this.bytes += chunk.length;
    if (this.bytes > this.declaredBytes) {
      done(
        new ExportFileError(
          `zip entry ${quoted(this.entryName)} holds more bytes than the ${this.declaredBytes} its header declares`,
        ),
      );
      return;
    }
    this.crc = crc32(chunk, this.crc);
    done(null, chunk);
  }

  override _flush(done: TransformCallback) {
    if (this.bytes !== this.declaredBytes) {
      done(
        new ExportFileError(
          `zip entry ${quoted(this.entryName)} holds ${this.bytes} bytes, not the ${this.declaredBytes} its header declares`,
        ),
      );
    } else if (this.crc >>> 0 !== this.declaredCrc >>> 0) {
      done(new ExportFileError(`zip entry ${quoted(this.entryName)} is corrupt (its CRC-32 does not match)`));
    } else {
      done();
    }
  }
}

/** yauzl and zlib errors describe the file; errors of a system call (EIO, ENOSPC…) are the machine's. */
function asFileError(error: unknown, context: string): unknown {
  if (error instanceof ExportFileError || !(error instanceof Error)) return error;
  if (typeof (error as NodeJS.ErrnoException).syscall === "string") return error;
  return new ExportFileError(`${context}: ${error.message}`);
}
