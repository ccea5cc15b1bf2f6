// Zips of export files: yazl for good ones; a small hand-made writer for the hostile ones yazl
// rightly refuses to make (an entry named ../../evil.txt, an entry whose sizes declare a bomb).
import { crc32, deflateRawSync, constants as zlib } from "node:zlib";
import { ZipFile } from "yazl";

export type ZipEntry = { name: string; data: Buffer; compress: boolean };

/** Entries' modification time: fixed, so a zip's bytes depend on its content only. */
const MTIME = new Date("2020-01-01T00:00:00Z");

export async function zipEntries(entries: ZipEntry[]): Promise<Buffer> {
  const zip = new ZipFile();
  for (const e of entries) zip.addBuffer(e.data, e.name, { compress: e.compress, mtime: MTIME });
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** An entry as it is stored: method 0 (stored) or 8 (deflate), with the sizes it declares. */
export type RawEntry = { name: string; method: 0 | 8; stored: Buffer; crc: number; size: number };

export function rawEntry(e: ZipEntry): RawEntry {
  return {
    name: e.name,
    method: e.compress ? 8 : 0,
    stored: e.compress ? deflateRawSync(e.data) : e.data,
    crc: crc32(e.data),
    size: e.data.length,
  };
}

const ONE_GIB = 2 ** 30;
/** crc32 of 2^30 zero bytes (zlib.crc32 over 1024 MiB of zeros; the test checks it). */
export const CRC32_OF_ONE_GIB_OF_ZEROS = 1533330096;

/**
 * A real deflate stream of 1 GiB of zeros in about 1 MB: one MiB of zeros compressed with a full
 * flush (a byte-aligned block that needs no history), repeated 1024 times, then an empty final block.
 */
export function zipBombEntry(name: string): RawEntry {
  const block = deflateRawSync(Buffer.alloc(2 ** 20), { finishFlush: zlib.Z_FULL_FLUSH });
  const finalEmptyBlock = Buffer.from([0x03, 0x00]);
  return {
    name,
    method: 8,
    stored: Buffer.concat([...Array<Buffer>(1024).fill(block), finalEmptyBlock]),
    crc: CRC32_OF_ONE_GIB_OF_ZEROS,
    size: ONE_GIB,
  };
}

/** A zip (no zip64, UTF-8 names) of entries taken as they are. */
export function rawZip(entries: RawEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name, "utf8");
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(e.method, 8);
    local.writeUInt16LE(0, 10); // time
    local.writeUInt16LE(0x5021, 12); // date: 2020-01-01
    local.writeUInt32LE(e.crc >>> 0, 14);
    local.writeUInt32LE(e.stored.length, 18);
    local.writeUInt32LE(e.size, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(0x031e, 4); // made by: Unix, 3.0
    local.copy(central, 6, 4, 30); // version needed .. name length are the same fields
    central.writeUInt16LE(0, 30); // extra length
    central.writeUInt16LE(0, 32); // comment length
    central.writeUInt32LE((0o100644 << 16) >>> 0, 38); // external attributes: a regular file
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, e.stored);
    centrals.push(central, name);
    offset += local.length + name.length + e.stored.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}
