/**
 * Something is wrong with an export file itself (not with the disk or the network): its message is
 * the precise reason an admin reads in the file ledger. Such a file fails as a whole; retrying the same
 * bytes cannot help, a new download or a new export can.
 */
export class ExportFileError extends Error {
  override readonly name = "ExportFileError";
}

/** The configured PGP decryption key cannot be used (never carries the key or its passphrase). */
export class DecryptionKeyError extends Error {
  override readonly name = "DecryptionKeyError";
}

/** Quotes a name from the file for a reason: bounded, and with control characters made visible. */
export function quoted(name: string, max = 200): string {
  const bounded = name.length > max ? `${name.slice(0, max)}…` : name;
  return JSON.stringify(bounded);
}
