// Encryption of stored secrets (AES-256-GCM). The stored form is "v1:<iv>:<tag>:<ciphertext>" in base64url;
// the key comes from SECRETS_KEY and never from the database.
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { required } from "@/lib/config";

const VERSION = "v1";

function key(): Buffer {
  return Buffer.from(required("SECRETS_KEY"), "base64");
}

export function encryptSecret(plain: string, secretsKey: Buffer = key()): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", secretsKey, iv);
  const ciphertext = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
  return [VERSION, iv, cipher.getAuthTag(), ciphertext]
    .map((p) => (typeof p === "string" ? p : p.toString("base64url")))
    .join(":");
}

export function decryptSecret(stored: string, secretsKey: Buffer = key()): string {
  const [version, iv, tag, ciphertext] = stored.split(":");
  if (version !== VERSION || !iv || !tag || ciphertext === undefined) {
    throw new Error("Stored secret is not in a known format");
  }
  try {
    const decipher = createDecipheriv("aes-256-gcm", secretsKey, Buffer.from(iv, "base64url"));
    decipher.setAuthTag(Buffer.from(tag, "base64url"));
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, "base64url")), decipher.final()]).toString("utf8");
  } catch {
    throw new Error("Stored secret could not be decrypted (wrong SECRETS_KEY?)");
  }
}
