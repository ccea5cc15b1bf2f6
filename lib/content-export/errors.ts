/**
 * Something is wrong with an export file itself (not with the disk or the network): its message is
 * the precise reason an admin reads in the file ledger. Such a file fails as a whole; retrying the same
 * bytes cannot help, a new download or a new export can.
 */
export class ExportFileError extends Error {
  override readonly name: string = "ExportFileError";
}

/**
 * One file's download failed for good (the delivery's retries spent: 429s or 5xx that did not stop, a
 * signed URL the storage kept refusing, a transfer broken off). The file fails with this reason and is
 * downloaded again next run; the other files go on. What only an admin can fix (a refused sign-in, a
 * missing role, a changed host key) is not one: it stops the run.
 */
export class ExportDownloadError extends ExportFileError {
  override readonly name = "ExportDownloadError";

  constructor(cause: Error) {
    super(`the download failed: ${cause.message}; nothing was imported from it and it is downloaded again next run`, {
      cause,
    });
  }
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
