import { describe, expect, it } from "vitest";
import { statusLogFilterSchema } from "./status-log";

const parse = (query: string) => statusLogFilterSchema.safeParse(Object.fromEntries(new URLSearchParams(query)));
const problems = (query: string) => {
  const result = parse(query);
  return result.success ? [] : result.error.issues.map((issue) => issue.message);
};

describe("the status log filter", () => {
  it("takes a status in any case, and empty fields of the flyout's form as no filter", () => {
    expect(parse("status=skipped").data).toEqual({ status: "SKIPPED" });
    expect(parse("status=Failed&run=&from=&to=").data).toEqual({ status: "FAILED" });
  });

  it("says in words what is wrong with a bad filter", () => {
    expect(problems("status=bogus")).toEqual(["status must be one of pending, imported, skipped, failed, not_read"]);
    expect(problems("from=01/12/2026")).toEqual(["from must be a date written YYYY-MM-DD"]);
    expect(problems("run=42")).toEqual(["run must be the id of one of the connector's import runs"]);
    expect(problems("from=2026-12-02&to=2026-12-01")).toEqual(["from must not be after to"]);
  });
});
