import { describe, expect, it } from "vitest";
import { jsonByteLength, parseJson } from "./graph-json";

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

describe("parseJson", () => {
  const parsedOrError = (text: string) => {
    try {
      return { value: parseJson(Buffer.from(text)) };
    } catch (error) {
      return { error: (error as Error).name };
    }
  };
  const whole = (text: string) => {
    try {
      return { value: JSON.parse(text || "null") as unknown };
    } catch (error) {
      return { error: (error as Error).name };
    }
  };

  it("gives what JSON.parse gives, a $batch of megabytes and every tricky string included", () => {
    const sub = (id: number, content: string) => ({
      id: String(id),
      method: "POST",
      url: "/users/u/messages",
      headers: { "Content-Type": "application/json" },
      body: { subject: content, attachments: [{ contentBytes: Buffer.alloc(200_000, id).toString("base64") }] },
    });
    const tricky = ['a "quoted" [bracket] {brace}, comma', "ends in a backslash \\", '\\"', "Grüße 名前 😀", "]}", ""];
    const texts = [
      JSON.stringify({ requests: tricky.map((content, i) => sub(i + 1, content)) }),
      JSON.stringify({ requests: [] }),
      '{"requests":[ ]}',
      '{"requests":[1,"two",null,[3,[4]],{"five":{"six":[]}}]}',
      '{"requests":[ {"id":"1"} , {"id":"2"} ]}',
      '{"requests":[{"id":"1"}]} ',
      '{"requests":[{"id":"1"}],"other":1}',
      '{"requests":{"id":"1"}}',
      "",
      "[1,2]",
      '"text"',
    ];
    for (const text of texts) expect(parsedOrError(text), text.slice(0, 80)).toEqual(whole(text));
  });

  it("refuses what JSON.parse refuses", () => {
    const bad = [
      '{"requests":[,]}',
      '{"requests":[1,]}',
      '{"requests":[{"id":"1"}}]}',
      '{"requests":[{"id":"1"]]}',
      '{"requests":[{"id":"1}]}',
      '{"requests":[{"id":"1"}]',
      '{"requests":[{"id":"1"}]}}',
      '{"requests":[{"id":"\\"}]}x',
      "{requests:[]}",
    ];
    for (const text of bad) expect(parsedOrError(text), text).toEqual({ error: "SyntaxError" });
  });
});
