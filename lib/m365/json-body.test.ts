import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { jsonWithFiles, type JsonFile } from "./json-body";

/** The body's bytes as sent: its parts one after another. */
const sent = (...args: Parameters<typeof jsonWithFiles>): Buffer => {
  const body = jsonWithFiles(...args);
  return Buffer.isBuffer(body) ? body : Buffer.concat([...body]);
};

/** What JSON.stringify makes of the same body with the files' bytes as base64 strings. */
function stringified(body: Record<string, unknown>, files: JsonFile[]): Buffer {
  const { attachments: _, ...rest } = body;
  const attachments = files.map((file) => ({
    ...file.fields,
    contentBytes: Buffer.from(file.bytes).toString("base64"),
  }));
  return Buffer.from(JSON.stringify(files.length > 0 ? { ...rest, attachments } : rest));
}

const message = {
  subject: 'Café ☕ 😀 "quoted" \\ back\u2028slash',
  body: { contentType: "html", content: "<p>naïve – résumé</p>\n\t" },
  toRecipients: [{ emailAddress: { address: "a@example.com" } }],
};

describe("jsonWithFiles", () => {
  it("gives exactly the bytes of JSON.stringify, for every length of file and any text in the message", () => {
    for (let length = 0; length <= 12; length++) {
      const files = [
        { fields: { name: `f${length}.bin`, contentType: "application/octet-stream" }, bytes: randomBytes(length) },
        { fields: { name: "ünïcode ✓.txt", isInline: false, contentId: null }, bytes: randomBytes(length * 7 + 1) },
      ];
      const built = sent(message, "attachments", files);
      expect(built.equals(stringified(message, files))).toBe(true);
    }
  });

  it("encodes a large file as Node's base64 does", () => {
    const bytes = randomBytes(300_001);
    const built = sent({}, "attachments", [{ fields: {}, bytes }]);
    expect(JSON.parse(built.toString("utf8"))).toEqual({ attachments: [{ contentBytes: bytes.toString("base64") }] });
  });

  it("makes a file's base64 in pieces each time the body is sent, the same bytes every time", () => {
    const body = jsonWithFiles(message, "attachments", [{ fields: { name: "big.bin" }, bytes: randomBytes(300_001) }]);
    if (Buffer.isBuffer(body)) throw new Error("a body with files is sent as parts");
    const first = [...body];
    expect(Math.max(...first.map((part) => part.length))).toBeLessThanOrEqual(64 * 1024);
    expect(Buffer.concat(first).length).toBe(body.length);
    expect(Buffer.concat([...body]).equals(Buffer.concat(first))).toBe(true);
  });

  it("replaces what the body had under the key, and leaves it out when there is no file", () => {
    const withOld = { ...message, attachments: ["old"] };
    const files = [{ fields: { name: "a" }, bytes: Buffer.from("abc") }];
    const built = JSON.parse(sent(withOld, "attachments", files).toString()) as { attachments: unknown };
    expect(built.attachments).toEqual([{ name: "a", contentBytes: "YWJj" }]);
    expect(JSON.parse(sent(withOld, "attachments", []).toString())).toEqual(message);
  });
});
