import { describe, expect, it } from "vitest";
import { base64Length, toUrlSafeBase64 } from "./base64";

describe("base64Length", () => {
  it("counts the characters Node's encoder writes, padding included", () => {
    for (const bytes of [0, 1, 2, 3, 4, 5, 47, 48, 49, 3 * 1024 * 1024 + 1]) {
      expect(base64Length(bytes), `${bytes} bytes`).toBe(Buffer.alloc(bytes, 0xfe).toString("base64").length);
    }
  });
});

describe("toUrlSafeBase64", () => {
  it("writes an id as Symphony's paths take it", () => {
    expect(toUrlSafeBase64("ab+/cd==")).toBe("ab-_cd");
    expect(toUrlSafeBase64("ab-_cd")).toBe("ab-_cd");
    expect(toUrlSafeBase64("a=b=")).toBe("a=b");
    expect(toUrlSafeBase64("===")).toBe("");
  });

  it("takes a hostile id of a million '=' and one other character in stride (a regular expression took minutes)", () => {
    const hostile = `${"=".repeat(1_000_000)}x`;
    expect(toUrlSafeBase64(hostile)).toBe(hostile);
    expect(toUrlSafeBase64(`x${"=".repeat(1_000_000)}`)).toBe("x");
  });
});
