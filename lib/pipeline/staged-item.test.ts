// The import's model of a message is built at collect from the email and the parts as written, not by
// reading the MIME back: it must be the very model the MIME reads back as, whatever the names, types
// and contents Symphony sent.
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { bufferedMime, buildEmail, readBackContentType, type AttachmentRef, type ChatMessage } from "@/lib/convert";
import { stagedModel } from "./staged-item";

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
