import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { simpleParser } from "mailparser";
import base64 from "nodemailer/lib/base64";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildEmail } from "./email";
import { toGraphMessage } from "./graph";
import { base64Lines, buildMime } from "./mime";
import { readStagedMime } from "./read-mime";
import type { AttachmentRef, ChatMessage } from "./types";

const MB = 1024 * 1024;
const BIG = 12 * MB;

/** Deterministic pseudo-random bytes, generated as they are read; `produced` says how far it got. */
function generatedFile(size: number, seed: number) {
  let produced = 0;
  let state = seed;
  const stream = new Readable({
    read() {
      const length = Math.min(64 * 1024, size - produced);
      if (length === 0) return void this.push(null);
      const chunk = Buffer.allocUnsafe(length);
      for (let i = 0; i < length; i++) {
        state = (state * 1103515245 + 12345) >>> 0;
        chunk[i] = state >>> 24;
      }
      produced += length;
      this.push(chunk);
    },
  });
  return { stream, produced: () => produced };
}

async function sha256(stream: Readable): Promise<{ hash: string; size: number }> {
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { hash: hash.digest("hex"), size };
}

const note: AttachmentRef = { id: "att-note==", name: "Trade note – ünïcode.txt", size: 27, contentType: "text/plain" };
const big: AttachmentRef = { id: "att-big/1", name: "model.bin", size: BIG, contentType: "application/octet-stream" };

const message: ChatMessage = {
  messageId: "kS6Pv+8mHq3/Xy2Wn1bL4Q==",
  streamId: "iWyZBIOdQQzQj0tKOLRivX___qu6YeyZdA",
  streamType: "ROOM",
  conversationName: "Rates desk – 東京",
  timestamp: new Date("2026-11-02T09:15:30.000Z"),
  sender: { userId: "1001", email: "alice@example.com", displayName: "Alice Smith" },
  participants: [
    { userId: "1002", email: "bob@example.com", displayName: "Bob Jones" },
    { userId: "1003", email: "carol@example.com", displayName: "Carol White" },
  ],
  presentationML:
    '<div data-format="PresentationML" data-version="2.0"><p>Levels <b>attached</b> שלום</p><ul><li>2y</li></ul></div>',
  attachments: [note, big],
  parentMessageId: "parent+1",
  initialMessageId: "initial/1",
};

const email = buildEmail(message);
const noteBytes = Buffer.from("bid 4.10 / offer 4.12\r\nok\n");
const sources = () => [
  { ref: note, open: () => Readable.from([noteBytes]) },
  { ref: big, open: () => generatedFile(BIG, 7).stream },
];

let dir: string;
let staged: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "convert-mime-"));
  staged = path.join(dir, "staged.eml");
  await pipeline(buildMime(email, sources()), createWriteStream(staged));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("buildMime", () => {
  it("parses back with mailparser to the same headers, bodies, date and attachment bytes", async () => {
    const parsed = await simpleParser(createReadStream(staged));
    expect(parsed.subject).toBe("Edited: Symphony room: Rates desk – 東京");
    expect(parsed.references).toEqual(email.references);
    expect(parsed.from?.value).toEqual([{ name: "Alice Smith", address: "alice@example.com" }]);
    expect(parsed.date?.toISOString()).toBe("2026-11-02T09:15:30.000Z");
    expect(parsed.messageId).toBe(email.messageId);
    expect(parsed.inReplyTo).toBe(email.inReplyTo);
    expect(parsed.headers.get("x-symphony-message-id")).toBe("kS6Pv+8mHq3/Xy2Wn1bL4Q==");
    expect(parsed.headers.get("x-symphony-stream-type")).toBe("ROOM");
    expect(parsed.html).toBe(email.html);
    expect(parsed.text?.trim()).toBe(email.text);
    expect(parsed.attachments.map((a) => [a.filename, a.size])).toEqual([
      [note.name, noteBytes.length],
      [big.name, BIG],
    ]);
    expect(parsed.attachments[0]!.content.equals(noteBytes)).toBe(true);
    const expected = await sha256(generatedFile(BIG, 7).stream);
    expect(createHash("sha256").update(parsed.attachments[1]!.content).digest("hex")).toBe(expected.hash);
  });

  it("streams attachments: opens each only when reached and follows the reader's pace", async () => {
    const file = generatedFile(BIG, 11);
    let opened = 0;
    const mime = buildMime(email, [{ ref: big, open: () => (opened++, file.stream) }]);
    expect(opened).toBe(0);
    let read = 0;
    for await (const chunk of mime) {
      read += (chunk as Buffer).length;
      if (read > MB) break;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(opened).toBe(1);
    expect(file.produced()).toBeLessThan(3 * MB);
  });

  it("fails the MIME stream when an attachment source fails, so no truncated item is staged", async () => {
    const failing = new Readable({
      read() {
        this.destroy(new Error("attachment download failed"));
      },
    });
    const mime = buildMime(email, [{ ref: note, open: () => failing }]);
    await expect(sha256(mime)).rejects.toThrow("attachment download failed");
  });
});

describe("base64Lines", () => {
  it("writes an attachment's base64 as nodemailer's Encoder does for one chunk, line breaks included", async () => {
    const encoded = async (bytes: Buffer) => {
      const chunks: Buffer[] = [];
      for await (const chunk of Readable.from([bytes]).pipe(new base64.Encoder({ lineLength: 76 }))) {
        chunks.push(chunk as Buffer);
      }
      return Buffer.concat(chunks).toString("latin1");
    };
    // Every length around a line (57 bytes) and around the pieces it encodes at once (57 KiB).
    const lengths = [...Array.from({ length: 400 }, (_, n) => n), 58_367, 58_368, 58_369, 116_738, 300_001];
    for (const length of lengths) {
      const bytes = createHash("sha512").update(String(length)).digest();
      const content = Buffer.alloc(length, bytes);
      expect(base64Lines(content).toString("latin1"), `${length} bytes`).toBe(await encoded(content));
    }
  });
});

describe("readStagedMime", () => {
  it("rebuilds the email model and the Graph message from the staged blob", async () => {
    const { email: read } = await readStagedMime(() => createReadStream(staged));
    expect(read.attachments).toEqual(
      [note, big].map((ref) => ({ ...ref, size: ref === note ? noteBytes.length : BIG })),
    );
    expect(read).toEqual({ ...email, attachments: read.attachments });
    expect(toGraphMessage(read)).toEqual(toGraphMessage(email));
  });

  it("streams the attachments back byte-identical", async () => {
    const staged_ = await readStagedMime(() => createReadStream(staged));
    const results: { id: string; hash: string; size: number }[] = [];
    for await (const { ref, content } of staged_.attachments())
      results.push({ id: ref.id, ...(await sha256(content)) });
    const expectedBig = await sha256(generatedFile(BIG, 7).stream);
    expect(results).toEqual([
      { id: note.id, hash: createHash("sha256").update(noteBytes).digest("hex"), size: noteBytes.length },
      { id: big.id, ...expectedBig },
    ]);
  });

  it("keeps the Symphony identity of mapped people in the staged blob, for a room of 400 members too", async () => {
    const members = Array.from({ length: 400 }, (_, i) => ({
      userId: String(2000 + i),
      email: `person${i}@markets.example.com`,
      displayName: `Person ${i}`,
      mappedAddress: `person.${i}@example.com`,
    }));
    const room = buildEmail({ ...message, sender: members[0]!, participants: members, attachments: [] });
    const file = path.join(dir, "room.eml");
    await pipeline(buildMime(room, []), createWriteStream(file));
    const { email: read } = await readStagedMime(() => createReadStream(file));
    expect(read.from).toEqual({ name: "Person 0", address: "person.0@example.com" });
    expect(read.to.at(-1)).toEqual({ name: "Person 399", address: "person.399@example.com" });
    expect(read.headers["X-Symphony-From-Address"]).toBe("person0@markets.example.com");
    expect(read.headers["X-Symphony-Sender-Id"]).toBe("2000");
    expect(read.headers["X-Symphony-To"]).toBe(room.headers["X-Symphony-To"]);
    expect(read.headers["X-Symphony-To"]).toMatch(/^2001 <person1@markets\.example\.com>, .*, 2399 <person399@/);
  });

  it("reads the blob once when there are no attachments", async () => {
    const plain = buildEmail({ ...message, attachments: [] });
    const file = path.join(dir, "plain.eml");
    await pipeline(buildMime(plain, []), createWriteStream(file));
    let opened = 0;
    const read = await readStagedMime(() => (opened++, createReadStream(file)));
    for await (const _ of read.attachments()) throw new Error("no attachment expected");
    expect(opened).toBe(1);
    expect(read.email.subject).toBe(plain.subject);
  });
});
