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
  it("writes Symphony ids and other identifiers that cannot start a formula as they are", () => {
    const ids = [
      "tX7lHl0fW4c-YsdoCGkE2H___oRk7sMcdA", // base64url
      "Ab+c/D==", // standard base64
      "_underscore",
      "7fQ2",
      "AAMkAGI2=",
      "/startsWithSlash",
      "abc123@mail.bank.example",
      "<abc123@mail.bank.example>",
    ];
    expect(csvLine(ids.map((id) => ({ id })))).toBe(`${ids.join(",")}\r\n`);
    expect(csvLine([{ id: "a;b" }, { id: null }, { id: "" }])).toBe('"a;b",,\r\n');
  });
  it.each([
    ["=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"],
    ["-AbC_dEf==", "'-AbC_dEf=="],
    ["+Ab/c==", "'+Ab/c=="],
    ["@SUM(A1)", "'@SUM(A1)"],
    ["|calc", "'|calc"],
    ["\t=1", "'\t=1"],
    ["=id;x", '"\'=id;x"'],
  ])("neutralises the id %j, which a spreadsheet would run", (id, cell) => {
    expect(csvLine([{ id }])).toBe(`${cell}\r\n`);
  });
});
