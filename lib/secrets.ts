// Encryption of stored secrets (AES-256-GCM). The key comes from SECRETS_KEY and never from the database.
// Stored form "v2:<iv>:<tag>:<ciphertext>" (base64url), with the secret's context (e.g. the connector it
// belongs to) bound as additional authenticated data: a ciphertext copied into another row does not
// decrypt there. "v1" values (no context) are only read by the upgrade that rewrites them as v2.
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { required } from "@/lib/config";

const VERSION = "v2";
const LEGACY_VERSION = "v1";

function key(): Buffer {
  return Buffer.from(required("SECRETS_KEY"), "base64");
}

/** The context of a connector's Symphony bot key. */
export function botKeyContext(connectorId: string): string {
  return `connector:${connectorId}:symphony-private-key`;
}

/** The context of a connector's SFTP credential (SSH private key or password). */
export function sftpCredentialContext(connectorId: string): string {
  return `connector:${connectorId}:sftp-credential`;
}

/** The context of a connector's PGP decryption key and passphrase. */
export function pgpKeyContext(connectorId: string): string {
  return `connector:${connectorId}:pgp-key`;
}

export function encryptSecret(plain: string, context: string, secretsKey: Buffer = key()): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", secretsKey, iv);
  cipher.setAAD(Buffer.from(context, "utf8"));
  const ciphertext = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
  return [VERSION, iv, cipher.getAuthTag(), ciphertext]
    .map((p) => (typeof p === "string" ? p : p.toString("base64url")))
    .join(":");
}

export function decryptSecret(stored: string, context: string, secretsKey: Buffer = key()): string {
  const parts = parse(stored);
  if (parts.version === LEGACY_VERSION) {
    throw new Error("Stored secret is in the old format: run `npm run db:migrate` (npm start does it) to upgrade it");
  }
  return open(parts, context, secretsKey);
}

/** How stored values in the old format, without a bound context, begin. */
export const LEGACY_SECRET_PREFIX = `${LEGACY_VERSION}:`;

export function isLegacySecret(stored: string): boolean {
  return stored.startsWith(LEGACY_SECRET_PREFIX);
}

/** Rewrites an old-format value with its context bound (the upgrade of stored secrets). */
export function upgradeSecret(stored: string, context: string, secretsKey: Buffer = key()): string {
  const parts = parse(stored);
  if (parts.version !== LEGACY_VERSION) return stored;
  return encryptSecret(open(parts, undefined, secretsKey), context, secretsKey);
}

type Parts = { version: string; iv: string; tag: string; ciphertext: string };

function parse(stored: string): Parts {
  const [version, iv, tag, ciphertext] = stored.split(":");
  if ((version !== VERSION && version !== LEGACY_VERSION) || !iv || !tag || ciphertext === undefined) {
    throw new Error("Stored secret is not in a known format");
  }
  return { version, iv, tag, ciphertext };
}

/** GCM's full tag: a shorter one (which Node would otherwise accept) makes forging a value far easier. */
const TAG_BYTES = 16;

function open({ iv, tag, ciphertext }: Parts, context: string | undefined, secretsKey: Buffer): string {
  try {
    const authTag = Buffer.from(tag, "base64url");
    if (authTag.length !== TAG_BYTES) throw new Error("truncated tag");
    const decipher = createDecipheriv("aes-256-gcm", secretsKey, Buffer.from(iv, "base64url"), {
      authTagLength: TAG_BYTES,
    });
    if (context !== undefined) decipher.setAAD(Buffer.from(context, "utf8"));
    decipher.setAuthTag(authTag);
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, "base64url")), decipher.final()]).toString("utf8");
  } catch {
    throw new Error("Stored secret could not be decrypted (wrong SECRETS_KEY, or it belongs to another record)");
  }
}
