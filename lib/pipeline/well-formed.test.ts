import { describe, expect, it } from "vitest";
import { wellFormed, wellFormedJson } from "./well-formed";

describe("well-formed text", () => {
  it("writes a lone surrogate as U+FFFD, as UTF-8 does, and keeps pairs and everything else", () => {
    expect(wellFormed("half \ud83d of an emoji, whole \ud83d\ude00, \udc00 alone")).toBe(
      "half \ufffd of an emoji, whole \ud83d\ude00, \ufffd alone",
    );
    expect(wellFormed("plain")).toBe("plain");
  });

  it("gives JSON that holds no lone surrogate, at any depth, and the same JSON otherwise", () => {
    const value = { subject: "FX \ud83d", to: [{ name: "Ann \udc00" }], body: "😀", n: 1 };
    expect(wellFormedJson(value)).toBe(
      JSON.stringify({ subject: "FX \ufffd", to: [{ name: "Ann \ufffd" }], body: "😀", n: 1 }),
    );
    // Text that only looks like an escaped surrogate is kept as it is.
    const literal = { text: "C:\\ud800\\path" };
    expect(JSON.parse(wellFormedJson(literal))).toEqual(literal);
  });
});
