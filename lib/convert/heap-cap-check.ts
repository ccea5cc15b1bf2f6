/**
 * The poison messages of issue 12 through the collect and import path (conversion pool, MIME,
 * read back, Graph JSON), run by limits.test.ts in a child process under the worker's real heap cap:
 *   node --max-old-space-size=192 --import tsx lib/convert/heap-cap-check.ts <table|text|br|plainText|names>
 * It prints one line of JSON: output sizes, the attachments and how long it took.
 */
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { pathToFileURL } from "node:url";
import { toGraphMessage } from "./graph";
import { buildMime } from "./mime";
import { ConversionPool } from "./pool";
import { readStagedMime } from "./read-mime";
import type { ChatMessage } from "./types";

const MB = 1024 * 1024;
const pml = (inner: string) => `<div data-format="PresentationML" data-version="2.0">${inner}</div>`;

/** The inputs of the issue, built the same way here and in the test that checks the output. */
export const POISON = {
  /** A 41 KB table: one 20,000-character cell and 660 rows (the renderer padded every row to it). */
  table: () =>
    pml(`<table><tr><td>${"W".repeat(20_000)}</td></tr>${"<tr><td>abc</td><td>de</td></tr>".repeat(660)}</table>`),
  /** A 10 MB text message. */
  text: () => pml(`<p>${"A ten megabyte message. ".repeat(Math.ceil((10 * MB) / 24))}</p>`),
  /** 4 MB of line breaks. */
  br: () => pml("<br>".repeat(MB)),
  /** 8 M characters of plain text (a Content Export message), each one markup when escaped. */
  plainText: () => "<\n".repeat(4 * MB),
  /** A short message whose sender and room are named with 8 M right-to-left overrides each. */
  names: () => pml("<p>Who sent this?</p>"),
};
export type PoisonKind = keyof typeof POISON;

export type HeapCapReport = {
  inputBytes: number;
  htmlBytes: number;
  textBytes: number;
  notRendered?: string;
  mimeBytes: number;
  graphJsonBytes: number;
  subject: string;
  from: string;
  attachments: Array<{ name: string; size: number; sha256: string }>;
  ms: number;
};

export function poisonMessage(kind: PoisonKind): ChatMessage {
  const longName = kind === "names" ? "\u202e".repeat(8 * MB) : undefined;
  return {
    messageId: `poison-${kind}`,
    streamId: "poison-stream",
    streamType: "ROOM",
    conversationName: longName ?? "Poison",
    timestamp: new Date("2026-11-02T09:15:30.123Z"),
    sender: { userId: "1", email: "alice@example.com", displayName: longName ?? "Alice" },
    participants: [{ userId: "2", email: "bob@example.com", displayName: "Bob" }],
    presentationML: POISON[kind](),
    ...(kind === "plainText" && { contentIsText: true }),
    attachments: [],
  };
}

async function main(kind: PoisonKind) {
  const started = performance.now();
  const dir = await mkdtemp(path.join(tmpdir(), "heap-cap-"));
  const pool = new ConversionPool({ threads: 1 });
  try {
    const message = poisonMessage(kind);
    const email = await pool.convert(message);
    const file = path.join(dir, "staged.eml");
    await pipeline(buildMime(email, []), createWriteStream(file));
    const staged = await readStagedMime(() => createReadStream(file));
    const graph = toGraphMessage(staged.email);
    const attachments: HeapCapReport["attachments"] = [];
    for await (const { ref, content } of staged.attachments()) {
      const hash = createHash("sha256");
      let size = 0;
      for await (const chunk of content) {
        hash.update(chunk as Buffer);
        size += (chunk as Buffer).length;
      }
      attachments.push({ name: ref.name, size, sha256: hash.digest("hex") });
    }
    const report: HeapCapReport = {
      inputBytes: Buffer.byteLength(message.presentationML),
      htmlBytes: Buffer.byteLength(staged.email.html),
      textBytes: Buffer.byteLength(staged.email.text),
      notRendered: email.notRendered,
      mimeBytes: (await stat(file)).size,
      graphJsonBytes: Buffer.byteLength(JSON.stringify(graph)),
      subject: staged.email.subject,
      from: staged.email.from.name,
      attachments,
      ms: Math.round(performance.now() - started),
    };
    console.log(JSON.stringify(report));
  } finally {
    await pool.close();
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const kind = process.argv[2] as PoisonKind;
  if (!(kind in POISON)) throw new Error(`usage: heap-cap-check.ts <${Object.keys(POISON).join("|")}>`);
  await main(kind);
}
