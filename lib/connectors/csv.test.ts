import { describe, expect, it } from "vitest";
import { csvCell, csvLine } from "@/lib/connectors/csv";

describe("csv", () => {
  it("quotes cells with commas, quotes and line breaks", () => {
    expect(csvLine(["a,b", 'say "hi"', "two\nlines", 42, null])).toBe('"a,b","say ""hi""","two\nlines",42,\r\n');
  });
  it.each(['=HYPERLINK("x")', "+1", "-2+3", "@SUM(A1)"])("neutralises the formula %s", (cell) => {
    expect(csvCell(cell).replace(/^"/, "")).toMatch(/^'/);
  });
  it("leaves numbers, including negative ones, as numbers", () => {
    expect(csvCell(-5)).toBe("-5");
    expect(csvCell(10n)).toBe("10");
  });
});
