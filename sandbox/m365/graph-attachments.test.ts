import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { isStrictBase64 } from "./graph-attachments";

describe("isStrictBase64", () => {
  it("accepts and refuses exactly what z.base64() does", () => {
    const tricky = ["", "YWJj", "YWI=", "YQ==", "YR==", "a===", "ab=d", "YW Jj", "YWJj\n", "YW-j", "YW_j", "YWJ$"];
    const more = ["YWJ", "éWJj", "====", "YQ==YQ==", "YWJjZA==", "\u00ffWJj", "YW\u0000j", "+/+/", "A==="];
    const random = Array.from({ length: 50 }, (_, n) => randomBytes(n).toString(n % 3 === 0 ? "base64url" : "base64"));
    for (const text of [...tricky, ...more, ...random])
      expect([text, isStrictBase64(text)]).toEqual([text, z.base64().safeParse(text).success]);
  });
});
