// Content Export for the Symphony sandbox: export files made from the seeded organisation, served
// by the Files API (on the pod server), a storage server for its signed URLs, and optionally SFTP.
import { z } from "zod";
import { close, listen } from "../http";
import type { Org } from "../org";
import type { Tokens } from "./auth";
import type { Fault } from "./export-build";
import { exportFiles, type ExportFileInfo, type ExportFormat } from "./export-files";
import type { ExpectedItem } from "./export-items";
import { exportModel } from "./export-model";
import { faultGate, type Stats } from "./faults";
import { filesApi, type FilesApi } from "./files-api";
import { generatePgpKeyPair, pgpEncrypter, type PgpKey, type PgpKeyPair } from "./pgp";
import { startSftp, type SftpAccess, type SftpCredentials, type SftpStats } from "./sftp";
import { storage } from "./storage";

export type ContentExportOptions = {
  /** Format of the export files (default ACTIANCE). */
  format?: ExportFormat;
  /** Encrypt the zips to `pgpKey` (default true). */
  encrypt?: boolean;
  /** Whether the bot has the Content Export Reader role (default true; false: 403 on /login/idm/tokens). */
  contentExportReader?: boolean;
  /** Start the SFTP server (default false); credentials given here are kept, missing ones generated. */
  sftp?: boolean | SftpCredentials;
  /** Lifetime of a signed URL (default 300000 ms). */
  signedUrlTtlMs?: number;
  /** Lifetime of a sym-files access token (default 3600 s, the spec's example). */
  accessTokenTtlSeconds?: number;
  ports?: { storage?: number; sftp?: number };
  /** The key pair files are encrypted to; a Curve25519 pair is generated if absent. */
  pgpKey?: PgpKeyPair;
};

export const exportFaultsSchema = z.object({
  listThrottleShare: z.number().min(0).max(1),
  listServerErrorShare: z.number().min(0).max(1),
  downloadThrottleShare: z.number().min(0).max(1),
  downloadServerErrorShare: z.number().min(0).max(1),
  retryAfterSeconds: z.number().int().min(0).max(3600),
  /** The SFTP server stops answering READ requests (the connection stays up): a server that hangs. */
  sftpStallReads: z.boolean(),
  /**
   * The signed URL comes as a 302 with its Location, no body: the spec documents a 200 with both, but
   * describes that response as "Redirect to the signed URL".
   */
  signedUrlAsRedirect: z.boolean(),
});
export type ExportFaults = z.infer<typeof exportFaultsSchema>;

export type ContentExport = {
  storageUrl: string;
  pgp: PgpKey;
  /** A second key pair: what "wrong-key" files are encrypted to. */
  otherPgp: PgpKey;
  sftp?: SftpAccess;
  /** The export files (not their `.md5` files), oldest upload first. */
  files(): Promise<ExportFileInfo[]>;
  /** An ad-hoc export of one whole UTC day: it overlaps that day's recurring file. */
  addAdhocExport(input: { day: string }): Promise<ExportFileInfo>;
  /** The same bytes and name uploaded again under a new id. */
  reuploadFile(id: string): Promise<ExportFileInfo>;
  /**
   * An ad-hoc file with a fault, of `day` (default: the first day with messages), uploaded now or at
   * `uploadTime` (ms; a file the API has held for a while).
   */
  addFaultyFile(fault: Fault, input?: { day?: string; uploadTime?: number }): Promise<ExportFileInfo>;
  /** Sets or (null) clears a file's fault; a cleared file serves its good bytes under the same id. */
  setFileFault(id: string, fault: Fault | null): Promise<ExportFileInfo>;
  /** Exact shares (0.5 = every second request) of 429/5xx on the file list and on downloads. */
  setExportFaults(change: Partial<ExportFaults>): ExportFaults;
  /** One item per unique message (and file transfer) across every good file. */
  expectedItems(): ExpectedItem[];
  /** Every sym-files access token becomes invalid. */
  revokeAccessTokens(): void;
  /** Refused attempts to change the SFTP folder, and files opened for reading (live counts). */
  sftpStats: SftpStats;
};

export async function startContentExport(
  options: ContentExportOptions,
  deps: { org: Org; sessions: Tokens; stats: Stats; host: string },
): Promise<{ contentExport: ContentExport; filesApi: FilesApi; close(): Promise<void> }> {
  const [pair, otherPair] = await Promise.all([
    options.pgpKey ?? generatePgpKeyPair(),
    generatePgpKeyPair("Another Content Export key"),
  ]);
  const [key, otherKey] = await Promise.all([pgpEncrypter(pair), pgpEncrypter(otherPair)]);
  const files = exportFiles({
    model: exportModel(deps.org),
    format: options.format ?? "ACTIANCE",
    encrypt: options.encrypt ?? true,
    key,
    otherKey,
  });

  let faults: ExportFaults = {
    listThrottleShare: 0,
    listServerErrorShare: 0,
    downloadThrottleShare: 0,
    downloadServerErrorShare: 0,
    retryAfterSeconds: 1,
    sftpStallReads: false,
    signedUrlAsRedirect: false,
  };
  const listFaults = faultGate();
  const downloadFaults = faultGate();
  const setExportFaults = (change: Partial<ExportFaults>) => {
    faults = exportFaultsSchema.parse({ ...faults, ...change });
    const { retryAfterSeconds } = faults;
    listFaults.set({
      throttleShare: faults.listThrottleShare,
      serverErrorShare: faults.listServerErrorShare,
      retryAfterSeconds,
    });
    downloadFaults.set({
      throttleShare: faults.downloadThrottleShare,
      serverErrorShare: faults.downloadServerErrorShare,
      retryAfterSeconds,
    });
    return faults;
  };

  let storageUrl = "";
  const store = storage({
    baseUrl: () => storageUrl,
    entry: (id) => files.entry(id, false),
    faults: downloadFaults,
    stats: deps.stats,
  });
  const storageServer = await listen(store.handler, deps.host, options.ports?.storage ?? 0);
  storageUrl = storageServer.url;

  const sftpStats: SftpStats = { removes: 0, renames: 0, writes: 0, opens: 0 };
  const sftp = options.sftp
    ? await startSftp({
        host: deps.host,
        port: options.ports?.sftp ?? 0,
        credentials: options.sftp === true ? {} : options.sftp,
        files,
        stats: sftpStats,
        stallReads: () => faults.sftpStallReads,
      })
    : undefined;

  const api = filesApi({
    files,
    storage: store,
    sessions: deps.sessions,
    botUsername: deps.org.bot.userName,
    contentExportReader: options.contentExportReader ?? true,
    accessTokenTtlSeconds: options.accessTokenTtlSeconds ?? 3600,
    signedUrlTtlMs: options.signedUrlTtlMs ?? 300_000,
    signedUrlAsRedirect: () => faults.signedUrlAsRedirect,
    listFaults,
    stats: deps.stats,
  });

  return {
    filesApi: api,
    contentExport: {
      storageUrl,
      pgp: key.key,
      otherPgp: otherKey.key,
      ...(sftp ? { sftp: sftp.access } : {}),
      files: () => files.files(),
      addAdhocExport: (input) => files.addAdhocExport(input),
      reuploadFile: (id) => files.reuploadFile(id),
      addFaultyFile: (fault, input) => files.addFaultyFile(fault, input),
      setFileFault: (id, fault) => files.setFileFault(id, fault),
      setExportFaults,
      expectedItems: () => files.expectedItems(),
      revokeAccessTokens: () => api.revokeAccessTokens(),
      sftpStats,
    },
    async close() {
      await Promise.all([close(storageServer.server), sftp?.close()]);
    },
  };
}
