/**
 * An exported EML whose text is 80 MB, read back for its import under the worker's heap cap, as
 * staged-item.test.ts runs it in a child process:
 *   node --max-old-space-size=192 --import tsx lib/pipeline/staged-heap-check.ts
 * It prints one line of JSON: the attachments' names and sizes, and the heap in use after.
 */
import { Readable } from "node:stream";
import { pathToFileURL } from "node:url";
import { stagedImportItem } from "./staged-item";

const MB = 1024 * 1024;

export function hugeTextEml(): Buffer {
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
  return Buffer.concat([Buffer.from(head), Buffer.from(line.repeat(Math.ceil((80 * MB) / line.length)))]);
}

async function main() {
  const eml = hugeTextEml();
  // As the blob is read: in pieces.
  const open = () =>
    Promise.resolve(
      Readable.from(Array.from({ length: Math.ceil(eml.length / MB) }, (_, i) => eml.subarray(i * MB, (i + 1) * MB))),
    );
  const item = await stagedImportItem("key", open, eml.length);
  let bytes = 0;
  for await (const chunk of await item.attachments[0]!.open()) bytes += (chunk as Buffer).length;
  console.log(
    JSON.stringify({
      attachments: item.attachments.map(({ name, size }) => ({ name, size })),
      bytes,
      heapUsedMb: Math.round(process.memoryUsage().heapUsed / MB),
    }),
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await main();
