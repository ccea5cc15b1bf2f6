import { describe, expect, it } from "vitest";
import { returnPath } from "./return-path";

describe("returnPath", () => {
  it("keeps a path on this site", () => {
    expect(returnPath("/connectors/1f0e/log?status=FAILED")).toBe("/connectors/1f0e/log?status=FAILED");
    expect(returnPath("/")).toBe("/");
  });

  it.each([
    "//evil.example/connectors",
    "/\\evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/.//evil.example",
    "/a/..//evil.example",
    "/%2e//evil.example",
    "https://evil.example",
    "javascript:alert(1)",
    "",
    undefined,
  ])("sends %j to the connectors instead of another site", (value) => {
    expect(returnPath(value)).toBe("/connectors");
  });
});
