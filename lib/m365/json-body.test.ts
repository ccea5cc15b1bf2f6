import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { jsonWithFiles, type JsonFile } from "./json-body";

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
      const built = jsonWithFiles(message, "attachments", files);
      expect(built.equals(stringified(message, files))).toBe(true);
    }
  });

  it("encodes a large file as Node's base64 does", () => {
    const bytes = randomBytes(300_001);
    const built = jsonWithFiles({}, "attachments", [{ fields: {}, bytes }]);
    expect(JSON.parse(built.toString("utf8"))).toEqual({ attachments: [{ contentBytes: bytes.toString("base64") }] });
  });

  it("replaces what the body had under the key, and leaves it out when there is no file", () => {
    const withOld = { ...message, attachments: ["old"] };
    const files = [{ fields: { name: "a" }, bytes: Buffer.from("abc") }];
    const built = JSON.parse(jsonWithFiles(withOld, "attachments", files).toString()) as { attachments: unknown };
    expect(built.attachments).toEqual([{ name: "a", contentBytes: "YWJj" }]);
    expect(JSON.parse(jsonWithFiles(withOld, "attachments", []).toString())).toEqual(message);
  });
});
