import { describe, expect, it } from "vitest";
import { csvCell, csvLine } from "./csv";

describe("csv", () => {
  it("quotes cells with commas, semicolons, quotes, line breaks and edge white space", () => {
    expect(csvLine(["a,b", 'say "hi"', "two\nlines", 42, null])).toBe('"a,b","say ""hi""","two\nlines",42,\r\n');
    expect(csvLine(["a;b", " padded "])).toBe('"a;b"," padded "\r\n');
  });
  it.each(['=HYPERLINK("x")', "+1", "-2+3", "@SUM(A1)", '  =HYPERLINK("x")', "\u00a0+1", "\t=1", "＝1+1"])(
    "neutralises the formula %j",
    (cell) => {
      expect(csvCell(cell).replace(/^"/, "")).toMatch(/^'/);
    },
  );
  it("leaves numbers, including negative ones, as numbers", () => {
    expect(csvCell(-5)).toBe("-5");
    expect(csvCell(10n)).toBe("10");
  });
  it("shows characters that hide or reorder text escaped", () => {
    expect(csvCell("no Microsoft 365 mailbox for ceo\u202Egro.knab@x.example")).toBe(
      "no Microsoft 365 mailbox for ceo\\u202Egro.knab@x.example",
    );
    expect(csvCell("a\u0000b\u0085c\u2066d")).toBe("a\\u0000b\\u0085c\\u2066d");
    expect(csvCell("tab\tand\nline")).toBe('"tab\tand\nline"');
  });
  it("writes identifiers as they are, even when they start like a formula", () => {
    expect(csvLine([{ id: "-AbC_dEf==" }, { id: "=id;x" }, { id: null }])).toBe('-AbC_dEf==,"=id;x",\r\n');
  });
});
