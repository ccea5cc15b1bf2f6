import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { decryptSecret, encryptSecret } from "./secrets";

const key = randomBytes(32);
const pem = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----";

describe("stored secrets", () => {
  it("round-trips and never stores the plain text", () => {
    const stored = encryptSecret(pem, key);
    expect(stored).not.toContain("PRIVATE KEY");
    expect(decryptSecret(stored, key)).toBe(pem);
  });

  it("uses a fresh IV each time", () => {
    expect(encryptSecret(pem, key)).not.toBe(encryptSecret(pem, key));
  });

  it("refuses a tampered value or the wrong key with a message that holds no secret", () => {
    const stored = encryptSecret(pem, key);
    const tampered = stored.slice(0, -2) + (stored.endsWith("A") ? "BB" : "AA");
    expect(() => decryptSecret(tampered, key)).toThrow("could not be decrypted");
    expect(() => decryptSecret(stored, randomBytes(32))).toThrow("could not be decrypted");
  });
});
