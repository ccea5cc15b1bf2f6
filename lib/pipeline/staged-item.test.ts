// The import's model of a message is built at collect from the email and the parts as written, not by
// reading the MIME back: it must be the very model the MIME reads back as, whatever the names, types
// and contents Symphony sent.
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import {
  bufferedMime,
  buildEmail,
  MAX_TEXT_READ_BACK_BYTES,
  readBackContentType,
  type AttachmentRef,
  type ChatMessage,
} from "@/lib/convert";
import { stagedImportItem, stagedModel } from "./staged-item";
import { hugeTextEml, MANY_AT_ONCE, manyTextEml } from "./staged-heap-check";
import { WORKER_HEAP_MB } from "@/scripts/worker-build";
import { underWorkerHeap } from "@/lib/testing";

function seeded(seed: number) {
  let state = seed >>> 0;
  return (n: number) => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return Math.floor((state / 2 ** 32) * n);
  };
}

const NAMES = [
  "report.pdf",
  "Q3 results.PDF",
  "報告書.xlsx",
  "=?utf-8?Q?evil=2Eexe?=",
  "invoice\u202Efdp.exe",
  "nul\u0000.txt",
  "",
  "  spaced  ",
  "chat.eml",
  "archive.unknownext",
  "no extension",
  `${"long".repeat(80)}.csv`,
  "half an emoji \ud83d.txt",
];
const TYPES = [
  undefined,
  "application/pdf",
  "IMAGE/PNG",
  "text/plain; charset=utf-8",
  "text/html",
  "text/calendar",
  "application/octet-stream",
  "message/rfc822",
  "multipart/mixed",
  "not a type",
  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
];

function chatWith(random: (n: number) => number, index: number): ChatMessage {
  const attachments: AttachmentRef[] = Array.from({ length: 1 + random(3) }, (_, n) => ({
    id: `file-${index}-${n}`,
    name: NAMES[random(NAMES.length)]!,
    size: 0,
    contentType: TYPES[random(TYPES.length)],
  }));
  return {
    messageId: `msg-${index}`,
    streamId: "stream-1",
    streamType: "ROOM",
    conversationName: "Rates desk",
    timestamp: new Date(Date.UTC(2026, 11, 1, 9, 30, 0, index)),
    // Half an emoji (a bot cutting text by UTF-16 units) in names and text of some messages.
    sender: { userId: "1", email: "alice@example.com", displayName: index % 5 === 0 ? "Alice \ud83d" : "Alice" },
    participants: [{ userId: "2", email: "bob@example.com", displayName: "Bob" }],
    presentationML: `<div data-format="PresentationML" data-version="2.0"><p>message ${index}${index % 7 === 0 ? " \udc00" : ""}</p></div>`,
    ...(index % 4 === 0 ? { data: JSON.stringify({ index }) } : {}),
    attachments,
  };
}

describe("the staged model of a message whose attachments were in memory", () => {
  it("is the model its MIME reads back as: graph, names, types, sizes and contents", async () => {
    const random = seeded(11);
    let asWritten = 0;
    for (let index = 0; index < 200; index++) {
      const chat = chatWith(random, index);
      const contents = chat.attachments.map((ref) => ({
        ref,
        content: Buffer.alloc(random(3) === 0 ? 0 : random(5000), createHash("sha256").update(ref.id).digest()),
      }));
      // Every third message is not rendered: the converter's own parts (the originals) come first.
      const email = buildEmail(chat, index % 3 === 0 ? { notRendered: "too complex to render" } : {});
      const { mime, parts } = bufferedMime(email, contents);
      if (parts.every((part) => readBackContentType(part.contentType) !== undefined)) asWritten++;
      const written = await stagedModel(mime, { email, parts });
      const readBack = await stagedModel(mime);
      // Every file Symphony sent is in the model, whatever type it was labelled with.
      const model = JSON.parse(readBack!.subarray(0, readBack!.indexOf("\n")).toString("utf8")) as {
        attachments: Array<{ name: string; size: number }>;
      };
      expect(
        model.attachments.map(({ size }) => size),
        chat.messageId,
      ).toEqual(parts.map(({ content }) => content.length));
      expect(written?.toString("latin1"), chat.messageId).toBe(readBack?.toString("latin1"));
    }
    // Most messages take the path without reading back (the rest must still give the same model).
    expect(asWritten).toBeGreaterThan(60);
  });
});

describe("an email whose body is larger than an archived item shows (a busy room's day in one EML)", () => {
  const transcript = Array.from(
    { length: 16_000 },
    (_, n) => `[2026-12-01T09:${String(n % 60).padStart(2, "0")}:00.000Z] Alice <alice@bank.example>: quote ${n} é`,
  ).join("\n");
  const file = Buffer.from("%PDF-1.7 term sheet");
  const mime = Buffer.from(
    [
      "From: Alice <alice@bank.example>",
      "To: Bob <bob@bank.example>",
      "Subject: Rates desk",
      "Date: Tue, 01 Dec 2026 09:30:00 +0000",
      "Message-ID: <day@content-export.symphony.invalid>",
      "MIME-Version: 1.0",
      'Content-Type: multipart/mixed; boundary="b"',
      "",
      "--b",
      "Content-Type: text/plain; charset=utf-8",
      "Content-Transfer-Encoding: base64",
      "",
      ...(Buffer.from(transcript)
        .toString("base64")
        .match(/.{1,76}/g) ?? []),
      "--b",
      'Content-Type: application/pdf; name="terms.pdf"',
      'Content-Disposition: attachment; filename="terms.pdf"',
      "Content-Transfer-Encoding: base64",
      "",
      file.toString("base64"),
      "--b--",
      "",
    ].join("\r\n"),
  );
  const bodyBytes = Buffer.from(transcript, "utf8");
  const read = async (stream: Readable) => Buffer.concat(await stream.toArray());

  it("gets a notice as its body and the whole body attached first, in its model and read from its MIME alike", async () => {
    expect(bodyBytes.length).toBeGreaterThan(1024 * 1024);
    const staged = (await stagedModel(mime))!;
    const end = staged.indexOf("\n");
    const model = JSON.parse(staged.subarray(0, end).toString("utf8")) as {
      graph: { body: { contentType: string; content: string } };
      attachments: Array<{ name: string; contentType: string; size: number }>;
    };
    expect(model.graph.body.contentType).toBe("html");
    expect(model.graph.body.content).toMatch(
      /This email&#39;s body is not shown here: its body is 1\.\d MB, more than the 1\.0 MB an archived item shows\. It is attached whole as email-body\.txt\./,
    );
    expect(model.attachments).toEqual([
      { name: "email-body.txt", contentType: "text/plain; charset=utf-8", size: bodyBytes.length },
      { name: "terms.pdf", contentType: "application/pdf", size: file.length },
    ]);
    expect(staged.subarray(end + 1, end + 1 + bodyBytes.length).equals(bodyBytes)).toBe(true);

    const item = await stagedImportItem("key", () => Promise.resolve(Readable.from([mime])));
    expect(item.graph).toEqual(model.graph);
    expect(item.attachments.map(({ name, contentType, size }) => ({ name, contentType, size }))).toEqual(
      model.attachments,
    );
    expect((await read(await item.attachments[0]!.open())).equals(bodyBytes)).toBe(true);
    expect((await read(await item.attachments[1]!.open())).equals(file)).toBe(true);
    // Its own blob's size given, it is read the same way: its text is within what the worker reads back.
    expect((await stagedImportItem("key", () => Promise.resolve(Readable.from([mime])), mime.length)).graph).toEqual(
      model.graph,
    );
  });

  it("is never parsed when its text is larger than the worker reads back: the copy is attached whole, as exported", async () => {
    const huge = Buffer.from(
      mime
        .toString("latin1")
        .replace(
          /(Content-Transfer-Encoding: base64\r\n\r\n)([\s\S]*?)(\r\n--b\r\n)/,
          (_, head: string, body: string, tail: string) => head + `${body}\r\n`.repeat(8).trimEnd() + tail,
        ),
      "latin1",
    );
    expect(huge.length).toBeGreaterThan(MAX_TEXT_READ_BACK_BYTES);
    const open = () => Promise.resolve(Readable.from([huge]));
    const item = await stagedImportItem("key", open, huge.length);
    expect(item.graph).toMatchObject({
      subject: "Rates desk",
      from: { emailAddress: { address: "alice@bank.example" } },
    });
    expect(JSON.stringify(item.graph)).toMatch(
      /This message is not shown here: its text is larger than the 8\.0 MB the archive reads back\. It is attached whole, as it was exported, as symphony-export-message\.eml\./,
    );
    expect(item.attachments.map(({ name, contentType, size }) => ({ name, contentType, size }))).toEqual([
      { name: "symphony-export-message.eml", contentType: "message/rfc822", size: huge.length },
    ]);
    expect((await read(await item.attachments[0]!.open())).equals(huge)).toBe(true);
  });
});

describe("which exported EMLs are read back, by the text mailparser would hold", () => {
  /** An EML of the given leaf parts (their headers and a body of `size` bytes of base64 text). */
  const eml = (parts: Array<{ headers: string[]; size: number }>) =>
    Buffer.from(
      [
        "From: Alice <alice@bank.example>",
        "To: Bob <bob@bank.example>",
        "Subject: Parts",
        "Date: Tue, 01 Dec 2026 09:30:00 +0000",
        "MIME-Version: 1.0",
        'Content-Type: multipart/mixed; boundary="b"',
        "",
        ...parts.flatMap(({ headers, size }) => [
          "--b",
          ...headers,
          "Content-Transfer-Encoding: base64",
          "",
          ...Array.from({ length: Math.ceil(size / 78) }, () => "QUJD".repeat(19)),
        ]),
        "--b--",
        "",
      ].join("\r\n"),
    );
  const MB = 1024 * 1024;
  const itemOf = (mime: Buffer) => stagedImportItem("key", () => Promise.resolve(Readable.from([mime])), mime.length);

  it("counts every text part together: four of 3 MB are more than it reads back", async () => {
    const mime = eml(
      Array.from({ length: 4 }, () => ({ headers: ["Content-Type: text/plain; charset=utf-8"], size: 3 * MB })),
    );
    const item = await itemOf(mime);
    expect(item.attachments.map(({ name, size }) => ({ name, size }))).toEqual([
      { name: "symphony-export-message.eml", size: mime.length },
    ]);
    // What its log reason says once imported.
    expect(item.note).toBe(
      "not read back: its text is larger than the 8.0 MB the archive reads back; the exported message is attached whole as symphony-export-message.eml",
    );
  });

  it("reads back one whose size is a text file attached, not text it would hold", async () => {
    const mime = eml([
      { headers: ["Content-Type: text/plain; charset=utf-8"], size: 1000 },
      {
        headers: ['Content-Type: text/plain; name="log.txt"', 'Content-Disposition: attachment; filename="log.txt"'],
        size: 12 * MB,
      },
    ]);
    expect(mime.length).toBeGreaterThan(MAX_TEXT_READ_BACK_BYTES);
    const item = await itemOf(mime);
    expect(item.attachments.map(({ name }) => name)).toEqual(["log.txt"]);
    expect(item.note).toBeUndefined();
  });
});

describe(`an exported EML with 80 MB of text, under the worker's ${WORKER_HEAP_MB} MB heap`, () => {
  it("is imported as its copy attached whole, without the worker running out of memory", async () => {
    const report = await underWorkerHeap("lib/pipeline/staged-heap-check.ts");
    const size = hugeTextEml().length;
    expect(report).toMatchObject({ attachments: [{ name: "symphony-export-message.eml", size }], bytes: size });
  }, 150_000);
});

describe(`${MANY_AT_ONCE} exported EMLs of 7.5 MB of text each, under the worker's ${WORKER_HEAP_MB} MB heap`, () => {
  it("are read back a few at a time and keep only what their import needs, without the worker running out of memory", async () => {
    const report = (await underWorkerHeap("lib/pipeline/staged-heap-check.ts", ["many"])) as {
      items: number;
      attachments: Array<{ name: string; size: number }>;
      bytes: number;
    };
    expect(report.items).toBe(MANY_AT_ONCE);
    // Each body, too large to show, is attached, and read back whole when it is sent.
    expect(report.attachments).toEqual([{ name: "email-body.txt", size: report.bytes }]);
    expect(report.bytes).toBeGreaterThan(manyTextEml().length * 0.95);
  }, 150_000);
});
