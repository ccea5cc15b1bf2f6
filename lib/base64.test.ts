import { describe, expect, it } from "vitest";
import { base64Length } from "./base64";

describe("base64Length", () => {
  it("counts the characters Node's encoder writes, padding included", () => {
    for (const bytes of [0, 1, 2, 3, 4, 5, 47, 48, 49, 3 * 1024 * 1024 + 1]) {
      expect(base64Length(bytes), `${bytes} bytes`).toBe(Buffer.alloc(bytes, 0xfe).toString("base64").length);
    }
  });
});
