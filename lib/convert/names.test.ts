import { describe, expect, it } from "vitest";
import { safeAddress, visibleFileName, visibleName, visibleText } from "./names";

describe("safeAddress", () => {
  it("keeps plain addresses as they are", () => {
    for (const address of ["alice@example.com", "first.last+tag@sub.example.co.uk", "o'brien@x.example", "a@b"]) {
      expect(safeAddress(address)).toBe(address);
    }
    expect(safeAddress("  bob@example.com ")).toBe("bob@example.com");
  });

  it("writes an internationalized domain in ASCII", () => {
    expect(safeAddress("bob@bücher.example")).toBe("bob@xn--bcher-kva.example");
    expect(safeAddress("bob@xn--bcher-kva.example")).toBe("bob@xn--bcher-kva.example");
  });

  it("refuses what a header or Graph could read otherwise", () => {
    for (const address of [
      "a[b]@example.com",
      "x@[127.0.0.1]",
      "back\\slash@example.com",
      '"quoted name"@example.com',
      "two words@example.com",
      "rlo\u202E@example.com",
      "nel\u0085@example.com",
      "nul\u0000@example.com",
      "=?utf-8?Q?x?=@example.com",
      "ünïcode@example.com",
      "a@-bad-.example",
      "a..b@example.com",
      ".a@example.com",
      "a@b@example.com",
      "@example.com",
      "example.com",
      "",
      `${"x".repeat(65)}@example.com`,
      `x@${"y".repeat(250)}.com`,
      undefined,
    ]) {
      expect(safeAddress(address), JSON.stringify(address)).toBeUndefined();
    }
  });
});

describe("visible names", () => {
  it("escapes invisible and reordering characters, and nothing else", () => {
    expect(visibleText('=?utf-8?B?QQ==?= <a@b> "q" \\ שלום 😀')).toBe('=?utf-8?B?QQ==?= <a@b> "q" \\ שלום 😀');
    expect(visibleText("a\u0000b\r\nc\u0085d\u202Ee\u2066f\u2028g\ud800h")).toBe(
      "a\\u0000b\\u000D\\u000Ac\\u0085d\\u202Ee\\u2066f\\u2028g\\uD800h",
    );
    // Marks are part of right-to-left text in names; in file names they are escaped too.
    expect(visibleName("\u200Fשלום")).toBe("\u200Fשלום");
    expect(visibleFileName("a\u200F.exe")).toBe("a\\u200F.exe");
  });

  it("bounds names and file names, keeping the extension", () => {
    expect(visibleName("n".repeat(300))).toBe(`${"n".repeat(255)}…`);
    const file = visibleFileName(`${"f".repeat(300)}.pdf`);
    expect(file).toHaveLength(255);
    expect(file.endsWith("….pdf")).toBe(true);
    expect(visibleFileName("  ")).toBe("attachment");
    // A surrogate pair is never cut in two.
    expect(visibleName(`${"n".repeat(254)}😀😀`)).toBe(`${"n".repeat(254)}…`);
  });
});
