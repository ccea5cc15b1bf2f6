import { createCipheriv, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { botKeyContext, decryptSecret, encryptSecret, isLegacySecret, upgradeSecret } from "./secrets";

const key = randomBytes(32);
const pem = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----";
const alpha = botKeyContext("7d9f2c3e-0000-4000-8000-000000000001");
const beta = botKeyContext("7d9f2c3e-0000-4000-8000-000000000002");

/** A value as the previous version stored it: no context bound. */
function legacy(plain: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  const ciphertext = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
  return ["v1", iv, cipher.getAuthTag(), ciphertext]
    .map((p) => (typeof p === "string" ? p : p.toString("base64url")))
    .join(":");
}

describe("stored secrets", () => {
  it("round-trips and never stores the plain text", () => {
    const stored = encryptSecret(pem, alpha, key);
    expect(stored).not.toContain("PRIVATE KEY");
    expect(decryptSecret(stored, alpha, key)).toBe(pem);
  });

  it("uses a fresh IV each time", () => {
    expect(encryptSecret(pem, alpha, key)).not.toBe(encryptSecret(pem, alpha, key));
  });

  it("refuses a tampered value or the wrong key with a message that holds no secret", () => {
    const stored = encryptSecret(pem, alpha, key);
    // One bit of the ciphertext flipped (changing base64 characters may leave the bytes as they were).
    const parts = stored.split(":");
    const ciphertext = Buffer.from(parts[3]!, "base64url");
    ciphertext[0]! ^= 1;
    const tampered = [...parts.slice(0, 3), ciphertext.toString("base64url")].join(":");
    expect(() => decryptSecret(tampered, alpha, key)).toThrow("could not be decrypted");
    expect(() => decryptSecret(stored, alpha, randomBytes(32))).toThrow("could not be decrypted");
  });

  it("refuses a value whose authentication tag was cut short", () => {
    const [version, iv, tag, ciphertext] = encryptSecret(pem, alpha, key).split(":");
    const short = Buffer.from(tag!, "base64url").subarray(0, 4).toString("base64url");
    expect(() => decryptSecret([version, iv, short, ciphertext].join(":"), alpha, key)).toThrow(
      "could not be decrypted",
    );
  });

  it("does not decrypt a value copied into another connector's row", () => {
    const stored = encryptSecret(pem, alpha, key);
    expect(() => decryptSecret(stored, beta, key)).toThrow("belongs to another record");
  });

  it("upgrades an old value to one bound to its connector, and refuses the old form otherwise", () => {
    const old = legacy(pem);
    expect(isLegacySecret(old)).toBe(true);
    expect(() => decryptSecret(old, alpha, key)).toThrow("old format");
    const upgraded = upgradeSecret(old, alpha, key);
    expect(isLegacySecret(upgraded)).toBe(false);
    expect(decryptSecret(upgraded, alpha, key)).toBe(pem);
    expect(() => decryptSecret(upgraded, beta, key)).toThrow("could not be decrypted");
    expect(upgradeSecret(upgraded, alpha, key)).toBe(upgraded);
  });
});
