// "The archive must say what Symphony said" (issue 12): names, room names and file names go through
// the real path (buildEmail -> buildMime -> staged bytes -> readStagedMime -> Graph JSON) and come
// out as the literal text that was sent. Random and hostile inputs, seeded: RFC 2047 encoded words,
// header syntax, bidi overrides, control characters, every script.
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { simpleParser } from "mailparser";
import { describe, expect, it } from "vitest";
import { buildEmail } from "./email";
import { toGraphMessage } from "./graph";
import { bufferedMime, buildMime } from "./mime";
import { readStagedMime, readStagedMimeWhole } from "./read-mime";
import type { AttachmentRef, ChatMessage, Person } from "./types";

/** mulberry32: the same cases on every run; RANDOM_SEED=n explores others. */
function random(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
  return { next, int, pick };
}

const b64 = (text: string) => Buffer.from(text).toString("base64");
const HOSTILE = [
  `=?utf-8?B?${b64("Desk\r\nBcc: evil@example.com")}?=`,
  `=?utf-8?B?${b64("CEO <ceo@corp.example>")}?=`,
  "=?utf-8?Q?evil=2Eexe?=",
  "=?UTF-8?q?=E2=80=AE?=",
  "=?iso-8859-1?Q?caf=E9?=",
  "=?",
  "?=",
  "=?=",
  "CEO <ceo@corp.example>",
  '"quoted" name',
  "back\\slash",
  "a, b; c: d",
  "(comment)",
  "[brackets]",
  "\r\nBcc: evil@example.com",
  "\u202Egnp.exe",
  "\u2066isolated\u2069",
  "\u200Frtl mark",
  "nul\u0000byte",
  "nel\u0085line",
  "tab\there",
  "line\u2028separator",
  "  leading and trailing  ",
  "two  spaces",
  "שלום עולם",
  "مرحبا",
  "日本語のテキスト",
  "😀👍🏽",
  "e\u0301",
  "%41%42",
  "utf-8''%41",
  "filename*=x",
  "\\u202E",
  "x".repeat(90),
];
const PIECES = [" ", ".", "-", "_", "'", "@", "<", ">", '"', "\\", ",", ";", ":", "=", "?", "/", "*", "%"];

function text(r: ReturnType<typeof random>, maxParts = 5): string {
  let out = "";
  for (let i = 1 + r.int(maxParts); i > 0; i--) {
    switch (r.int(5)) {
      case 0:
        out += r.pick(HOSTILE);
        break;
      case 1:
        out += r.pick(PIECES);
        break;
      case 2: // printable ASCII
        out += String.fromCharCode(...Array.from({ length: 1 + r.int(12) }, () => 0x20 + r.int(95)));
        break;
      case 3: // any BMP code unit, lone surrogates included
        out += String.fromCharCode(...Array.from({ length: 1 + r.int(6) }, () => r.int(0x10000)));
        break;
      default: // astral characters
        out += String.fromCodePoint(...Array.from({ length: 1 + r.int(3) }, () => 0x10000 + r.int(0x10000)));
    }
  }
  return out;
}

// What the archive must show, written independently of ./names: the text as sent, with invisible
// and reordering characters as \uXXXX (file names also escape the bidi marks).
function shown(value: string, fileName = false): string {
  let out = "";
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    const next = value.charCodeAt(i + 1);
    if (c >= 0xd800 && c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
      out += value.slice(i, i + 2);
      i++;
      continue;
    }
    const invisible =
      c < 0x20 ||
      (c >= 0x7f && c <= 0x9f) ||
      c === 0x2028 ||
      c === 0x2029 ||
      (c >= 0x202a && c <= 0x202e) ||
      (c >= 0x2066 && c <= 0x2069) ||
      (c >= 0xd800 && c <= 0xdfff) ||
      (fileName && (c === 0x200e || c === 0x200f || c === 0x061c));
    out += invisible ? `\\u${c.toString(16).toUpperCase().padStart(4, "0")}` : value[i];
  }
  return out;
}
const INVISIBLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]|\p{Cs}/u;

function shortened(value: string, max: number): string {
  if (value.length <= max) return value;
  let end = max - 1;
  const last = value.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${value.slice(0, end)}…`;
}
const shownName = (person: Person) => shortened(shown(person.displayName.trim() || person.email || person.userId), 256);
/**
 * Subject of a room message: the room name as sent, trimmed like a display name, escaped and never
 * collapsed. A room whose name is blank is named by its members instead (not checked here).
 */
const shownSubject = (roomName: string) =>
  roomName.trim() ? shortened(shown(`Symphony room: ${roomName.trim()}`), 255) : undefined;
const shownFileName = (name: string) => shown(name, true).trim() || "attachment";

const ADDRESS = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.]{1,64}@[A-Za-z0-9.-]{1,253}$/;

async function throughStaging(chat: ChatMessage) {
  const email = buildEmail(chat);
  const sources = chat.attachments.map((ref) => ({ ref, open: () => Readable.from([Buffer.from(ref.id)]) }));
  const chunks: Buffer[] = [];
  for await (const chunk of buildMime(email, sources)) chunks.push(chunk as Buffer);
  const mime = Buffer.concat(chunks);
  const staged = await readStagedMime(() => Readable.from([mime]));
  return { email, mime, staged, graph: toGraphMessage(staged.email) };
}

function room(r: ReturnType<typeof random>, index: number): ChatMessage {
  const person = (id: number): Person => ({
    userId: String(1000 + id),
    displayName: text(r),
    email: r.next() < 0.8 ? `user${id}@example.com` : text(r, 2),
  });
  const attachments: AttachmentRef[] = Array.from({ length: r.int(4) }, (_, i) => ({
    id: `att${index}x${i}`,
    name: text(r, 4),
    size: `att${index}x${i}`.length,
  }));
  return {
    messageId: `msg-${index}`,
    streamId: "stream-1",
    streamType: "ROOM",
    conversationName: text(r),
    timestamp: new Date(Date.UTC(2026, 10, 2, 9, 15, 30, r.int(1000))),
    sender: person(0),
    participants: Array.from({ length: 1 + r.int(4) }, (_, i) => person(i + 1)),
    presentationML: "<p>hello</p>",
    attachments,
  };
}

describe("what Symphony sent is what the mailbox shows", () => {
  const seed = Number(process.env.RANDOM_SEED ?? 12);
  const cases = Array.from({ length: Number(process.env.ROUNDTRIP_CASES ?? 300) }, (_, i) =>
    room(random(seed * 1000 + i), i),
  );

  it("round-trips names, room names and file names exactly through the staged MIME", async () => {
    for (const chat of cases) {
      const { email, staged, graph } = await throughStaging(chat);
      const context = JSON.stringify({ room: chat.conversationName, sender: chat.sender });
      // The Graph item built from the staged blob is the one built from the email model.
      expect(graph, context).toEqual(toGraphMessage(email));
      expect(
        staged.email.attachments.map((a) => [a.id, a.name]),
        context,
      ).toEqual(email.attachments.map((a) => [a.id, a.name]));
      // ... and it says what Symphony said.
      const subject = shownSubject(chat.conversationName!);
      if (subject) expect(graph.subject, context).toBe(subject);
      expect(graph.from.emailAddress.name, context).toBe(shownName(chat.sender));
      const others = chat.participants.filter((p) => p.userId !== chat.sender.userId);
      expect(
        graph.toRecipients.map((r) => r.emailAddress.name),
        context,
      ).toEqual(others.map(shownName));
      expect(staged.email.attachments.map((a) => a.name)).toEqual(chat.attachments.map((a) => shownFileName(a.name)));
      for (const value of [
        graph.subject,
        graph.from.emailAddress.name,
        ...staged.email.attachments.map((a) => a.name),
      ]) {
        expect(value, context).not.toMatch(INVISIBLE);
      }
      for (const { emailAddress } of [graph.from, ...graph.toRecipients]) {
        expect(emailAddress.address).toMatch(ADDRESS);
        expect(emailAddress.address).not.toContain("=?");
      }
      expect(staged.email.date.toISOString()).toBe(chat.timestamp.toISOString());
    }
  });

  it("keeps text without invisible characters literally, encoded words included", async () => {
    const literal = cases.filter(
      (chat) =>
        !INVISIBLE.test(chat.conversationName!) &&
        !INVISIBLE.test(chat.sender.displayName) &&
        chat.sender.displayName.trim() !== "" &&
        chat.attachments.every((a) => !INVISIBLE.test(a.name) && !/[\u200e\u200f\u061c]/.test(a.name)),
    );
    expect(literal.length).toBeGreaterThan(10);
    for (const chat of literal) {
      const { graph, staged } = await throughStaging(chat);
      expect(graph.from.emailAddress.name).toBe(chat.sender.displayName.trim());
      expect(staged.email.attachments.map((a) => a.name)).toEqual(
        chat.attachments.map((a) => a.name.trim() || "attachment"),
      );
    }
  });

  it("writes MIME that any decoder reads the same, with header lines within 998 characters", async () => {
    for (const chat of cases) {
      const { email, mime } = await throughStaging(chat);
      const lines = mime.toString("latin1").split("\r\n");
      expect(Math.max(...lines.map((line) => line.length))).toBeLessThanOrEqual(998);
      const header = mime.toString("latin1").slice(0, mime.indexOf("\r\n\r\n"));
      expect(header.split("\r\n").filter((line) => line.length > 78 && !line.includes("@"))).toEqual([]);
      // A plain reader of the MIME decodes each value once, to the text.
      const parsed = await simpleParser(mime);
      expect(parsed.subject).toBe(email.subject);
      expect(parsed.from?.value[0]?.name).toBe(email.from.name);
      const to = Array.isArray(parsed.to) ? parsed.to.flatMap((a) => a.value) : (parsed.to?.value ?? []);
      expect(to.map((a) => a.name)).toEqual(email.to.map((a) => a.name));
      expect(parsed.attachments.map((a) => a.filename)).toEqual(email.attachments.map((a) => a.name));
    }
  });

  it("writes a message without attachments as the very bytes nodemailer's streams write", async () => {
    const read = async (mime: Readable) => {
      const chunks: Buffer[] = [];
      for await (const chunk of mime) chunks.push(chunk as Buffer);
      // Each MIME has its own boundary (a counter): the rest must be the same.
      return Buffer.concat(chunks)
        .toString("latin1")
        .replace(/_NmP-[0-9a-z]+-Part_/g, "_NmP-x-Part_");
    };
    const r = random(seed);
    const bodies = (i: number) =>
      [
        "<p>hello</p>",
        `<p>${text(r, 8)}</p>`,
        `<p>${"long line without a break ".repeat(1 + r.int(200))}</p>`,
        `<p>${"日本語のテキスト ".repeat(1 + r.int(50))}</p>`,
        "<p></p>",
      ][i % 5]!;
    for (const [i, chat] of cases.entries()) {
      // Every third a reply (In-Reply-To, References), every fifth an edit of one too.
      const thread = {
        ...(i % 3 === 0 ? { parentMessageId: `parent-${i}_${r.int(1_000_000)}` } : {}),
        ...(i % 5 === 0 ? { initialMessageId: `initial-${i}`, initialTimestamp: new Date(1_700_000_000_000 + i) } : {}),
      };
      const email = buildEmail({ ...chat, ...thread, attachments: [], presentationML: bodies(i) });
      expect(await read(buildMime(email, [])), chat.messageId).toBe(
        await read(buildMime(email, [], { streamed: true })),
      );
    }
  });

  it("writes a message whose attachments are in memory as the very bytes buildMime streams", async () => {
    const r = random(seed + 1);
    const types = ["application/pdf", "IMAGE/PNG", "text/plain; charset=utf-8", "not a type", undefined];
    for (const [i, chat] of cases.entries()) {
      // Contents of every length around the base64 line (57 bytes) and of several pieces.
      const attachments = chat.attachments.map((ref, n) => ({
        ref: { ...ref, contentType: r.pick(types) },
        content: Buffer.from(
          Array.from({ length: n === 0 && i % 30 === 0 ? 120_000 + r.int(120_000) : r.int(200) }, () => r.int(256)),
        ),
      }));
      const email = buildEmail({ ...chat, attachments: attachments.map(({ ref }) => ref) });
      const { mime, parts } = bufferedMime(email, attachments);
      const chunks: Buffer[] = [];
      const sources = attachments.map(({ ref, content }) => ({ ref, open: () => Readable.from([content]) }));
      for await (const chunk of buildMime(email, sources)) chunks.push(chunk as Buffer);
      const streamed = Buffer.concat(chunks);
      const unbounded = (bytes: Buffer) => bytes.toString("latin1").replace(/_NmP-[0-9a-z]+-Part_/g, "_NmP-x-Part_");
      expect(unbounded(mime), chat.messageId).toBe(unbounded(streamed));
      const digests = (contents: Buffer[]) =>
        contents.map((content) => createHash("sha256").update(content).digest("hex"));
      expect(digests(parts.map(({ content }) => content))).toEqual(digests(attachments.map(({ content }) => content)));
      const staged = await readStagedMimeWhole(mime);
      expect(staged.email.attachments.map(({ name }) => name)).toEqual(parts.map(({ name }) => name));
      expect(digests(staged.contents)).toEqual(digests(parts.map(({ content }) => content)));
    }
  });

  it("hostile examples of the issue", async () => {
    const chat: ChatMessage = {
      ...room(random(1), 0),
      conversationName: `=?utf-8?B?${b64("Rates\r\nBcc: evil@example.com")}?=`,
      sender: { userId: "1", email: "alice@example.com", displayName: `=?utf-8?B?${b64("CEO <ceo@corp.example>")}?=` },
      participants: [
        { userId: "2", email: "bob@example.com", displayName: "Bob" },
        { userId: "3", email: "a[b]@example.com", displayName: "Brackets" },
        { userId: "4", email: "back\\slash@example.com", displayName: "Backslash" },
        { userId: "5", email: "rlo\u202E@example.com", displayName: "Override" },
        { userId: "6", email: "nel\u0085@example.com", displayName: "Next line" },
        { userId: "7", email: "x@[127.0.0.1]", displayName: "Literal" },
        { userId: "8", email: "=?utf-8?Q?x?=@example.com", displayName: "Encoded" },
        { userId: "9", email: "bob@bücher.example", displayName: "IDN" },
      ],
      attachments: [
        { id: "a1", name: "=?utf-8?Q?evil=2Eexe?=", size: 2 },
        { id: "a2", name: "invoice\u202Efdp.exe", size: 2 },
        { id: "a3", name: "nul\u0000.txt", size: 2 },
        { id: "a4", name: `${"long".repeat(100)}.pdf`, size: 2 },
      ],
    };
    const { graph, staged, mime } = await throughStaging(chat);
    expect(graph.subject).toBe(`Symphony room: =?utf-8?B?${b64("Rates\r\nBcc: evil@example.com")}?=`);
    expect(graph.from.emailAddress.name).toBe(`=?utf-8?B?${b64("CEO <ceo@corp.example>")}?=`);
    expect(graph.toRecipients.map((r) => r.emailAddress.address)).toEqual([
      "bob@example.com",
      "symphony-user-3@symphony.invalid",
      "symphony-user-4@symphony.invalid",
      "symphony-user-5@symphony.invalid",
      "symphony-user-6@symphony.invalid",
      "symphony-user-7@symphony.invalid",
      "symphony-user-8@symphony.invalid",
      "bob@xn--bcher-kva.example",
    ]);
    const names = staged.email.attachments.map((a) => a.name);
    expect(names.slice(0, 3)).toEqual(["=?utf-8?Q?evil=2Eexe?=", "invoice\\u202Efdp.exe", "nul\\u0000.txt"]);
    expect(names[3]).toHaveLength(255);
    expect(names[3]).toMatch(/^(long)+.*…\.pdf$/);
    expect(mime.toString("latin1")).not.toMatch(/^Bcc:/im);
  });
});

describe("an email the source gave as MIME (Content Export EML)", () => {
  const eml = (contentType: string, body: string) =>
    Buffer.from(
      [
        "From: Alice <alice@bank.example>",
        "To: Bob <bob@bank.example>",
        "Cc: Carol <carol@bank.example>, dave@bank.example",
        "Subject: FX desk",
        "Date: Tue, 01 Dec 2026 09:30:00 +0000",
        "Message-ID: <conv-1@content-export.symphony.invalid>",
        "MIME-Version: 1.0",
        `Content-Type: ${contentType}; charset=utf-8`,
        "",
        body,
      ].join("\r\n"),
    );

  it("keeps a text-only body as text, character for character, and its Cc recipients", async () => {
    const text = "[2026-12-01T09:30:00.000Z] Alice <alice@bank.example>: 5M EURUSD <1.0832 & rising\n  second line";
    const { email } = await readStagedMimeWhole(eml("text/plain", text));
    const graph = toGraphMessage(email);
    expect(graph.body).toEqual({ contentType: "text", content: text });
    expect(graph.ccRecipients?.map((r) => r.emailAddress)).toEqual([
      { name: "Carol", address: "carol@bank.example" },
      { name: "", address: "dave@bank.example" },
    ]);
  });

  it("keeps an HTML body as HTML", async () => {
    const { email } = await readStagedMimeWhole(eml("text/html", "<p>Hello <b>Bob</b></p>"));
    expect(toGraphMessage(email).body).toEqual({ contentType: "html", content: "<p>Hello <b>Bob</b></p>" });
  });
});
