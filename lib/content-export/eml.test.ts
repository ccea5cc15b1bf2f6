import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { readEmlItem } from "./eml";
import { ExportFileError } from "./errors";

const MESSAGE_ID = "<room-1.1700000000000.1700086400000@content-export.symphony.invalid>";

function eml(headers: string[], body = "Transcript\r\n"): Buffer {
  return Buffer.from(`${headers.join("\r\n")}\r\n\r\n${body}`);
}

const HEADERS = [
  `Message-ID: ${MESSAGE_ID}`,
  "Date: Wed, 15 Nov 2023 22:13:20 +0000",
  'From: "Alice Example" <Alice@acme.example>',
  "To: bob@acme.example, =?UTF-8?Q?Zo=C3=AB?= <zoe@partner.example>, alice@acme.example",
  "Cc: Group: carol@acme.example;",
  "Subject: Project X",
  "X-Symphony-Stream-Id: room-1",
  "MIME-Version: 1.0",
  "Content-Type: text/plain; charset=utf-8",
];

/** A stream that counts what was pulled from it, in 16 KiB chunks. */
function counted(bytes: Buffer) {
  const state = { pulled: 0 };
  const stream = Readable.from(
    (function* () {
      for (let at = 0; at < bytes.length; at += 16_384) {
        const chunk = bytes.subarray(at, at + 16_384);
        state.pulled += chunk.length;
        yield chunk;
      }
    })(),
  );
  return { open: () => Promise.resolve(stream), state };
}

describe("readEmlItem", () => {
  it("reads the address headers and keys by Message-ID, never reading the body", async () => {
    const bytes = eml(HEADERS, "x".repeat(5 * 1024 * 1024));
    const { open, state } = counted(bytes);
    const item = await readEmlItem("room-1.eml", bytes.length, open);
    expect(item).toEqual({
      kind: "eml",
      key: MESSAGE_ID.slice(1, -1),
      entryName: "room-1.eml",
      conversationId: "room-1",
      sentAt: new Date("2023-11-15T22:13:20Z"),
      sender: {
        loginName: "alice@acme.example",
        email: "alice@acme.example",
        displayName: "Alice Example",
        internal: true,
      },
      recipients: [
        { loginName: "alice@acme.example", email: "alice@acme.example", displayName: "Alice Example", internal: true },
        { loginName: "bob@acme.example", email: "bob@acme.example", internal: true },
        { loginName: "zoe@partner.example", email: "zoe@partner.example", displayName: "Zoë", internal: true },
        { loginName: "carol@acme.example", email: "carol@acme.example", internal: true },
      ],
      size: bytes.length,
      subject: "Project X",
    });
    // The stream reads a little ahead; the 5 MiB body is never read.
    expect(state.pulled).toBeLessThan(1024 * 1024);
  });

  it("keys a message without Message-ID by the SHA-256 of all its bytes", async () => {
    const bytes = eml(
      HEADERS.filter((header) => !header.startsWith("Message-ID")),
      "y".repeat(100_000),
    );
    const item = await readEmlItem("room-1.eml", bytes.length, counted(bytes).open);
    expect(item.key).toBe(`ce-${createHash("sha256").update(bytes).digest("hex")}`);
    const again = await readEmlItem("room-1.eml", bytes.length, counted(bytes).open);
    expect(again.key).toBe(item.key);
  });

  it("fails an e-mail without a readable Date, or with endless headers", async () => {
    const noDate = eml(HEADERS.filter((header) => !header.startsWith("Date")));
    await expect(readEmlItem("a.eml", noDate.length, counted(noDate).open)).rejects.toThrow(
      'the e-mail "a.eml" has no readable Date header',
    );
    const garbled = eml(HEADERS.map((header) => (header.startsWith("Date") ? "Date: the day after" : header)));
    await expect(readEmlItem("a.eml", garbled.length, counted(garbled).open)).rejects.toThrow(ExportFileError);
    const endless = Buffer.from(`Subject: x\r\n${"X-Pad: y\r\n".repeat(200_000)}`);
    await expect(readEmlItem("b.eml", endless.length, counted(endless).open)).rejects.toThrow(
      'the e-mail "b.eml" has more than 1 MiB of headers',
    );
  });

  it("keeps no more of a huge subject or Message-ID than an item needs (a file's items are held at once)", async () => {
    const longId = `<${"i".repeat(500_000)}@x>`;
    const bytes = eml([
      ...HEADERS.filter((header) => !/^(Message-ID|Subject)/.test(header)),
      `Message-ID: ${longId}`,
      `Subject: ${"s".repeat(500_000)}`,
    ]);
    const item = await readEmlItem("c.eml", bytes.length, counted(bytes).open);
    expect(item.subject).toBe("s".repeat(1000));
    expect(item.key).toBe(`ce-${createHash("sha256").update(longId.slice(1, -1)).digest("hex")}`);
  });
});
