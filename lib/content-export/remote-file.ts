import type { Readable } from "node:stream";

/** One export file as a delivery lists it, before any byte is read. */
export type RemoteExportFile = {
  /** The Files API's file id, or the file's path on the SFTP server. */
  sourceId: string;
  name: string;
  /** Null while the file is being written. */
  size: number | null;
  /** SHA-256 (hex) of the file as downloaded, from the Files API; null on SFTP. */
  integrityHash: string | null;
  /** From the `.md5` file beside it, when there is one. */
  md5: string | null;
  /** The Files API's uploadTime; the SFTP file's modification time. */
  uploadTime: Date | null;
  /** From the Files API's metadata; null on SFTP (detected later from the zip). */
  format: "ACTIANCE" | "EML" | "SYMPHONY" | null;
  jobType: string | null;
  periodStart: Date | null;
  periodEnd: Date | null;
  generatedAt: Date | null;
  encryptionKeyId: string | null;
  encrypted: boolean;
  /** Why the file cannot be taken as listed (an odd listing entry, a checksum file that cannot be read): it fails with this reason. */
  problem?: string;
};

export type ReadyListing = {
  /** Files ready to read, oldest upload first. */
  ready: RemoteExportFile[];
  /** Names of the files still being written, left for a later listing. */
  stillWriting: string[];
  /**
   * Ids of files listed without an upload time among those still being written: their wait counts
   * from when a listing first showed them, which the caller keeps and gives back (`firstListed`).
   */
  unstamped?: string[];
};

/** Where export files are fetched from: the Files API or an SFTP folder. Nothing is ever deleted there. */
export interface ExportDelivery {
  /** Files ready to read, oldest upload first; files still being written are left out and named. */
  listReady(options?: {
    uploadedAfter?: Date;
    signal?: AbortSignal;
    /** When a listing first showed a file of `unstamped` (by its id), if one did. */
    firstListed?: (id: string) => Date | undefined;
  }): Promise<ReadyListing>;
  /**
   * The file's bytes as stored (still encrypted when it is). A failure of this file's own download,
   * opening or reading, is an ExportDownloadError; one that would fail every file (sign-in, role, host
   * key, server out of reach) is not.
   */
  open(file: RemoteExportFile, signal?: AbortSignal): Promise<Readable>;
  close(): Promise<void>;
}

/** `.md5` files sit beside the exports; they are checks, not content. */
export function isMd5Name(name: string): boolean {
  return name.toLowerCase().endsWith(".md5");
}

/** The checksum of an md5sum-style file: its first 32 hex characters, lower-cased; null when absent. */
export function parseMd5Text(text: string): string | null {
  return /^\s*([0-9a-f]{32})(?![0-9a-f])/i.exec(text)?.[1]?.toLowerCase() ?? null;
}

export function looksEncrypted(name: string): boolean {
  return /\.(pgp|gpg|asc)$/i.test(name);
}

export function byUploadTime(a: RemoteExportFile, b: RemoteExportFile): number {
  const at = a.uploadTime?.getTime() ?? Number.POSITIVE_INFINITY;
  const bt = b.uploadTime?.getTime() ?? Number.POSITIVE_INFINITY;
  return at === bt ? a.name.localeCompare(b.name) : at - bt;
}
