/**
 * Exported EMLs read back for their import under the worker's heap cap, as staged-item.test.ts runs
 * them in a child process:
 *   node --max-old-space-size=192 --import tsx lib/pipeline/staged-heap-check.ts [huge|many]
 * huge: one EML whose text is 80 MB. many: 64 EMLs of 7.5 MB of text each (just under what is read
 * back), read back at once as the items in flight would be. It prints one line of JSON: what was
 * imported, and the heap in use after.
 */
import { Readable } from "node:stream";
import { pathToFileURL } from "node:url";
import { stagedImportItem } from "./staged-item";

const MB = 1024 * 1024;

export function hugeTextEml(): Buffer {
  return textEml(80 * MB);
}

/** How many EMLs `many` reads back at once: the items one connector's import has in flight. */
export const MANY_AT_ONCE = 64;
/** The size of each of them: text just under what the worker reads back (MAX_TEXT_READ_BACK_BYTES). */
export function manyTextEml(): Buffer {
  return textEml(7.5 * MB);
}

function textEml(textBytes: number): Buffer {
  const line = `${"x".repeat(76)}\r\n`;
  const head = [
    "From: Alice <alice@bank.example>",
    "To: Bob <bob@bank.example>",
    "Subject: A very long day",
    "Date: Tue, 01 Dec 2026 09:30:00 +0000",
    "MIME-Version: 1.0",
    "Content-Type: text/plain; charset=utf-8",
    "",
    "",
  ].join("\r\n");
  return Buffer.concat([Buffer.from(head), Buffer.from(line.repeat(Math.ceil(textBytes / line.length)))]);
}

/** As a blob is read: in pieces. */
function opener(eml: Buffer) {
  return () =>
    Promise.resolve(
      Readable.from(Array.from({ length: Math.ceil(eml.length / MB) }, (_, i) => eml.subarray(i * MB, (i + 1) * MB))),
    );
}

async function bytesOf(stream: Readable): Promise<number> {
  let bytes = 0;
  for await (const chunk of stream) bytes += (chunk as Buffer).length;
  return bytes;
}

async function huge() {
  const eml = hugeTextEml();
  const item = await stagedImportItem("key", opener(eml), eml.length);
  return {
    attachments: item.attachments.map(({ name, size }) => ({ name, size })),
    bytes: await bytesOf(await item.attachments[0]!.open()),
  };
}

async function many() {
  const eml = manyTextEml();
  // All read back at once, and all kept, as items waiting for their mailbox keep theirs.
  const items = await Promise.all(
    Array.from({ length: MANY_AT_ONCE }, (_, n) => stagedImportItem(`key-${n}`, opener(eml), eml.length)),
  );
  return {
    items: items.length,
    attachments: items[0]!.attachments.map(({ name, size }) => ({ name, size })),
    bytes: await bytesOf(await items.at(-1)!.attachments[0]!.open()),
  };
}

async function main(kind: string) {
  const report = kind === "many" ? await many() : await huge();
  console.log(JSON.stringify({ ...report, heapUsedMb: Math.round(process.memoryUsage().heapUsed / MB) }));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await main(process.argv[2] ?? "huge");
