import { describe, expect, it } from "vitest";
import { jsonByteLength } from "./graph-json";

describe("jsonByteLength", () => {
  it("counts the UTF-8 bytes JSON.stringify would write, escapes and non-ASCII text included", () => {
    const values: unknown[] = [
      "plain",
      "",
      'a "quoted" \\ path\n\ttab \u0001 \u007f',
      "Zoë 名前 😀 and a lone surrogate \ud800",
      0,
      -12.5e-7,
      true,
      null,
      [],
      {},
      [1, "two", null, [false, {}]],
      { subject: "Grüße", body: { contentType: "html", content: "<p>x</p>" }, toRecipients: [{ a: 1 }, { b: "é" }] },
      { 'clé "x"': ["\u2028", { deep: { deeper: [null, -0, 1e21] } }] },
      { attachments: [{ contentBytes: Buffer.alloc(50_000, 7).toString("base64") }] },
    ];
    for (const value of values) {
      const parsed: unknown = JSON.parse(JSON.stringify(value));
      expect(jsonByteLength(parsed), JSON.stringify(value).slice(0, 60)).toBe(
        Buffer.byteLength(JSON.stringify(parsed)),
      );
    }
  });
});
