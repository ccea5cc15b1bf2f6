// Test fixtures for this folder: zips written with yazl, and the byte patches that make hostile ones
// (yazl refuses unsafe names and always writes honest sizes, as a good zip writer should).
import { createWriteStream } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import yazl from "yazl";

export type ZipFixtureEntry = { name: string; data: string | Buffer | (() => Readable); compress?: boolean };

export async function tempDir(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), "content-export-test-"));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

export async function writeZip(file: string, entries: ZipFixtureEntry[]): Promise<string> {
  const zip = new yazl.ZipFile();
  for (const { name, data, compress = true } of entries) {
    if (typeof data === "function") zip.addReadStreamLazy(name, { compress }, (done) => done(null, data()));
    else zip.addBuffer(typeof data === "string" ? Buffer.from(data) : data, name, { compress });
  }
  zip.end();
  await pipeline(zip.outputStream, createWriteStream(file));
  return file;
}

/** Replaces every occurrence of `from` (same length as `to`) in the file: entry names live in two places. */
export async function patchBytes(file: string, from: string | Buffer, to: string | Buffer): Promise<void> {
  const bytes = await readFile(file);
  const a = Buffer.from(from);
  const b = Buffer.from(to);
  if (a.length !== b.length) throw new Error("a patch keeps the length");
  let at = bytes.indexOf(a);
  if (at === -1) throw new Error("nothing to patch");
  while (at !== -1) {
    b.copy(bytes, at);
    at = bytes.indexOf(a, at + b.length);
  }
  await writeFile(file, bytes);
}

/** Rewrites the uncompressed size the central directory declares for every entry (a lying header). */
export async function declareUncompressedSize(file: string, size: number): Promise<void> {
  const bytes = await readFile(file);
  for (let at = bytes.indexOf(CENTRAL_SIGNATURE); at !== -1; at = bytes.indexOf(CENTRAL_SIGNATURE, at + 4)) {
    bytes.writeUInt32LE(size, at + 24);
  }
  await writeFile(file, bytes);
}

const CENTRAL_SIGNATURE = Buffer.from([0x50, 0x4b, 0x01, 0x02]);

/** `bytes` zeros, produced lazily (a zip bomb's payload never exists in memory). */
export function zeros(bytes: number): () => Readable {
  return () =>
    Readable.from(
      (function* () {
        const chunk = Buffer.alloc(1024 * 1024);
        for (let left = bytes; left > 0; left -= chunk.length)
          yield left >= chunk.length ? chunk : chunk.subarray(0, left);
      })(),
    );
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}
