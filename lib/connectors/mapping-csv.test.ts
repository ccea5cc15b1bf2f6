import { describe, expect, it } from "vitest";
import { MAX_LISTED_ERRORS, parseMappingCsv } from "./mapping-csv";

describe("parseMappingCsv", () => {
  it("maps emails (lower-cased) and numeric user ids, skipping a header line", () => {
    const { rows, errors } = parseMappingCsv(
      "Symphony user,Microsoft 365 mailbox\nJane.Doe@Bank.example,jane@contoso.test\n349026222344891,Bob@Contoso.test\n",
    );
    expect(errors).toEqual([]);
    expect(rows).toEqual([
      { line: 2, symphonyKey: "jane.doe@bank.example", mailbox: "jane@contoso.test" },
      { line: 3, symphonyKey: "349026222344891", mailbox: "bob@contoso.test" },
    ]);
  });

  it("reports each bad line with its line number and keeps the good ones", () => {
    const { rows, errors } = parseMappingCsv(
      [
        "a@bank.example,a@contoso.test",
        "not-an-id,b@contoso.test",
        "c@bank.example,nope",
        "d@bank.example",
        "",
        "a@bank.example,x@contoso.test",
      ].join("\n"),
    );
    expect(rows.map((r) => r.line)).toEqual([1]);
    expect(errors).toEqual([
      {
        line: 2,
        message: expect.stringContaining("neither an email address nor a numeric Symphony user id") as unknown,
      },
      { line: 3, message: expect.stringContaining("not a valid Microsoft 365 email address") as unknown },
      { line: 4, message: expect.stringContaining("Expected 2 columns") as unknown },
      { line: 6, message: expect.stringContaining("already mapped on line 1") as unknown },
    ]);
  });

  it("reads quoted cells and a byte-order mark", () => {
    const { rows, errors } = parseMappingCsv('\uFEFF"e@bank.example","e@contoso.test"\r\n');
    expect(errors).toEqual([]);
    expect(rows[0]).toMatchObject({ symphonyKey: "e@bank.example", mailbox: "e@contoso.test" });
  });

  it("names the line of a broken quote", () => {
    const { rows, errors } = parseMappingCsv('a@bank.example,a@contoso.test\n"b@bank.example,b@contoso.test\n');
    expect(rows).toEqual([]);
    expect(errors[0]?.message).toContain("not valid CSV");
    expect(errors[0]?.line).toBeGreaterThanOrEqual(2);
  });

  it("lists the first 100 errors and counts the others, quoting at most 100 characters of a cell", () => {
    const long = `${"x".repeat(5_000)}@`;
    const lines = [`${long},a@contoso.test`, ...Array.from({ length: 249 }, (_, i) => `bad${i},b@contoso.test`)];
    const { rows, errors, moreErrors } = parseMappingCsv(lines.join("\n"));
    expect(rows).toEqual([]);
    expect(errors).toHaveLength(MAX_LISTED_ERRORS);
    expect(moreErrors).toBe(150);
    expect(errors[0]).toEqual({
      line: 1,
      message: `"${"x".repeat(100)}…" is neither an email address nor a numeric Symphony user id.`,
    });
    expect(errors.at(-1)?.line).toBe(100);
  });

  it("counts nothing more when every error is listed", () => {
    expect(parseMappingCsv("bad,a@contoso.test\n").moreErrors).toBe(0);
  });
});
