import { hintsFromName, type NameHints } from "./name-hints";

export type ExportFileName = NameHints & {
  /** `.zip.pgp` (or `.pgp`, `.gpg`): an OpenPGP message holding the zip. */
  encrypted: boolean;
  /** An md5sum-style sidecar (`<name>.md5`); the other fields describe the file it checks. */
  isChecksum: boolean;
};

/** What an export file's name says; a part that cannot be read is null. Never throws. */
export function parseExportFileName(name: string): ExportFileName {
  const isChecksum = /\.md5$/i.test(name);
  const subject = isChecksum ? name.slice(0, -4) : name;
  const encrypted = /\.(pgp|gpg)$/i.test(subject);
  try {
    const hints = hintsFromName(subject);
    const valid = (date: Date | null) => (date && !Number.isNaN(date.getTime()) ? date : null);
    return {
      jobType: hints.jobType,
      periodStart: valid(hints.periodStart),
      periodEnd: valid(hints.periodEnd),
      generatedAt: valid(hints.generatedAt),
      encrypted,
      isChecksum,
    };
  } catch {
    return { jobType: null, periodStart: null, periodEnd: null, generatedAt: null, encrypted, isChecksum };
  }
}
