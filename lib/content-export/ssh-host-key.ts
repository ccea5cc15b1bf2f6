import { createHash } from "node:crypto";

export type HostKey = {
  /** OpenSSH's fingerprint (`ssh-keygen -lf`): `SHA256:` and the unpadded base64 of the key's SHA-256. */
  fingerprint: string;
  /** The key's type as the server names it: ssh-ed25519, ssh-rsa, ecdsa-sha2-nistp256... */
  algorithm: string;
};

/** The fingerprint and type of a host key in SSH wire format (the blob the server sends). */
export function hostKeyOf(blob: Buffer): HostKey {
  const digest = createHash("sha256").update(blob).digest("base64").replace(/=+$/, "");
  return { fingerprint: `SHA256:${digest}`, algorithm: keyType(blob) };
}

/** `SHA256:abc…`, `abc…` or `abc…=` as OpenSSH writes it (`SHA256:` + 43 characters); null when it is none of those. */
export function normalizeFingerprint(value: string): string | null {
  const match = /^(?:SHA256:)?([A-Za-z0-9+/]{43})=?$/.exec(value.trim());
  return match ? `SHA256:${match[1]}` : null;
}

function keyType(blob: Buffer): string {
  if (blob.length < 4) return "unknown";
  const length = blob.readUInt32BE(0);
  if (length === 0 || length > 64 || 4 + length > blob.length) return "unknown";
  const name = blob.subarray(4, 4 + length).toString("latin1");
  return /^[\x21-\x7e]+$/.test(name) ? name : "unknown";
}
