// The Source step's Test connection, for its three sources. Nothing is saved; a stored secret is used
// only where the rules of ./source.ts allow it, and nothing but a connection request reaches an SFTP
// server whose host key has not been confirmed.
import type { Readable } from "node:stream";
import {
  createFilesApiDelivery,
  createSftpDelivery,
  encryptionKeyIdsOf,
  ExportFileError,
  probeSftpHostKey,
  SftpError,
  testFilesApi,
  testSftp,
  type ExportDelivery,
  type RemoteExportFile,
} from "@/lib/content-export";
import { db } from "@/lib/db";
import { logger } from "@/lib/logger";
import { captureFeed } from "@/lib/pipeline";
import { checkDatahose, keyManagerNeeded, SymphonyError, testConnection } from "@/lib/symphony";
import { savedSourceValues } from "./saved-source";
import { parseSourceStep, type FilesApiSource, type SftpSource, type SourceStepInput } from "./export-source-settings";
import type { FieldErrors } from "./schemas";
import { asEdited } from "./pending-edit";
import {
  decryptBotKey,
  decryptSftpCredential,
  hostKeyToTrust,
  keyForServers,
  loadSavedSource,
  pgpKeyIdsFor,
  sftpCredentialFor,
  sftpServerOf,
  type SavedSource,
} from "./source";

export type ExportFileInfo = Pick<
  RemoteExportFile,
  "name" | "format" | "size" | "jobType" | "periodStart" | "periodEnd" | "encrypted" | "encryptionKeyId"
>;

export type TestNote = { tone: "success" | "error" | "info"; text: string };

export type SourceTestReport = {
  /** True when the connector signed in and read what it needs. */
  ok: boolean;
  /** success: connected; error: failed; info: only the SFTP host key was read, for the admin to check. */
  tone: TestNote["tone"];
  message: string;
  /** The newest Content Export files, newest first. */
  files?: ExportFileInfo[];
  /** Whether the PGP key fits the newest encrypted file. */
  notes?: TestNote[];
  /** The SFTP server's host key, for the admin to check and confirm (first test, or a changed key). */
  hostKey?: { fingerprint: string; algorithm?: string; readFrom: string; replaces?: string };
};

export type SourceTestResult = { ok: false; errors: FieldErrors } | { ok: true; report: SourceTestReport };

const TEST_TIMEOUT_MS = 15_000;

/** Test connection: validates the form, picks the secrets the rules allow and tries the chosen source. */
export async function testSource(connectorId: string | undefined, input: SourceStepInput): Promise<SourceTestResult> {
  const parsed = await parseSourceStep(input);
  if (!parsed.ok) return parsed;
  const settings = parsed.settings;
  const saved = await loadSavedSource(connectorId);
  switch (settings.source) {
    case "DATAHOSE":
    case "CONVERSATIONS": {
      const key = keyForServers(saved, settings);
      if (!key.ok) return key;
      // settings carries the chosen stream types: the counts are of those.
      const signIn = { ...settings, privateKeyPem: decryptBotKey(key) };
      // Without a key manager URL, say first (in words) whether the pod and agent can do without one.
      const needed = settings.keyManagerUrl ? undefined : await keyManagerNeeded(signIn);
      if (needed) return { ok: true, report: { ok: false, tone: "error", message: needed } };
      const report = await testConnection(signIn);
      if (!report.ok) return { ok: true, report: { ok: false, tone: "error", message: report.reason } };
      const bot = report.bot.displayName ? `${report.bot.displayName} (${report.bot.username})` : report.bot.username;
      if (settings.source === "DATAHOSE") return { ok: true, report: await testDatahose(signIn, bot, connectorId) };
      return {
        ok: true,
        report: {
          ok: true,
          tone: "success",
          message:
            `Connected as ${bot}. The service account can read ${report.readable} of the pod's ${conversations(report.streams)} of the chosen types: ` +
            `those it is a member of, the only ones this source archives. The others need Content Export.` +
            (settings.keyManagerUrl
              ? ""
              : " It reaches the agent with simplified key delivery: no key manager is needed."),
        },
      };
    }
    case "FILES_API": {
      const key = keyForServers(saved, { ...settings, ...settings.realtime });
      if (!key.ok) return key;
      const privateKeyPem = decryptBotKey(key);
      const report = await testFilesApiSource(settings, privateKeyPem, pgpKeyIdsFor(saved, settings.pgpKey));
      if (!report.ok || !settings.realtime) return { ok: true, report };
      const signIn = {
        podUrl: settings.podUrl,
        botUsername: settings.botUsername,
        privateKeyPem,
        ...settings.realtime,
      };
      const realtime = await testDatahose(signIn, settings.botUsername, connectorId);
      return {
        ok: true,
        report: {
          ...report,
          ok: realtime.ok,
          tone: realtime.ok ? report.tone : "error",
          message: `${report.message} ${realtime.message}`,
        },
      };
    }
    case "SFTP":
      return testSftpSource(saved, settings);
  }
}

/** Symphony serves other people's files to its Content Export service user only (attachment endpoint notes). */
export const FILES_NOTE =
  "Files are downloaded as messages are captured. Symphony serves the files of conversations the service account is not in only to the pod's Content Export service user: use that account, or such files are left to the daily Content Export (beside it) or fail their message (Datahose alone).";

/** The Datahose entitlement: the pod's add-on and the service account's right to it. */
async function testDatahose(
  signIn: Parameters<typeof checkDatahose>[0],
  bot: string,
  connectorId: string | undefined,
): Promise<SourceTestReport> {
  try {
    const verdict = await checkDatahose(signIn, captureFeed(connectorId ?? "connection-test"));
    return verdict === "entitled"
      ? {
          ok: true,
          tone: "success",
          message: `Connected as ${bot}. This pod has Datahose: the connector will capture every conversation of the pod in real time.`,
          notes: [{ tone: "info", text: FILES_NOTE }],
        }
      : {
          ok: false,
          tone: "error",
          message: `Connected as ${bot}, but this pod does not have Datahose (Symphony answered 403): real-time capture needs Symphony's Datahose add-on, enabled for this service account. Ask Symphony to enable it, or choose Content Export.`,
        };
  } catch (error) {
    if (!(error instanceof SymphonyError)) throw error;
    logger.warn({ endpoint: error.endpoint, code: error.code }, "Datahose test failed");
    return { ok: false, tone: "error", message: `The Datahose could not be read: ${error.message}.` };
  }
}

async function testFilesApiSource(
  settings: FilesApiSource,
  privateKeyPem: string,
  keyIds: string[] | undefined,
): Promise<SourceTestReport> {
  const signIn = { podUrl: settings.podUrl, botUsername: settings.botUsername, privateKeyPem };
  const result = await testFilesApi(signIn);
  if (!result.ok) return { ok: false, tone: "error", message: result.reason };
  const { files, stillWriting } = result;
  const listed =
    files.length > 0
      ? `the ${files.length === 1 ? "newest file is" : `${files.length} newest files are`} below.`
      : "there are none yet. Symphony lists them once an export has run (Admin Portal > Company Settings > Export Content).";
  const writing =
    stillWriting.length > 0
      ? ` ${stillWriting.length === 1 ? "1 file is" : `${stillWriting.length} files are`} still being written (no size or hash yet): such a file is read once complete, or two hours after its upload (with no upload time given, after a run first lists it).`
      : "";
  const unhashed = files.filter((file) => file.integrityHash === null).length;
  const unverified =
    unhashed > 0
      ? ` Symphony published no integrity hash for ${unhashed === 1 ? "1 of these files" : `${unhashed} of these files`}: such a file is read without it two hours after its upload (its .md5 file, if any, the zip's own checksums and PGP's integrity check still apply), and the connector's file list says "hash not verified".`
      : "";
  const note = await encryptionNote(files, keyIds, (file) =>
    openOnce(createFilesApiDelivery(signIn, { retry: { maxAttempts: 2 }, requestTimeoutMs: TEST_TIMEOUT_MS }), file),
  );
  return {
    ok: true,
    tone: "success",
    message: `Signed in as ${settings.botUsername} and listed the Content Export files: ${listed}${writing}${unverified}`,
    files: files.map(fileInfo),
    notes: note ? [note] : [],
  };
}

async function testSftpSource(saved: SavedSource | null, settings: SftpSource): Promise<SourceTestResult> {
  const trust = hostKeyToTrust(saved, settings);
  const server = sftpServerOf(settings);
  if (trust.state !== "confirmed") {
    // Only the key exchange: no user name, password or key is sent to a server nobody has checked.
    try {
      const key = await probeSftpHostKey({ host: settings.sftpHost, port: settings.sftpPort });
      return {
        ok: true,
        report: {
          ok: false,
          tone: "info",
          message:
            `The SFTP server ${server} presented the host key shown under SFTP server; nothing else was sent to it. ` +
            `Check this fingerprint with the server's administrator, tick the box, then test again to sign in.`,
          hostKey: { ...key, readFrom: server },
        },
      };
    } catch (error) {
      if (!(error instanceof SftpError)) throw error;
      logger.warn({ code: error.code, detail: error.detail }, "SFTP host key probe failed");
      return { ok: true, report: { ok: false, tone: "error", message: error.message } };
    }
  }
  const credential = sftpCredentialFor(saved, settings);
  if (!credential.ok) return credential;
  const sftp = {
    host: settings.sftpHost,
    port: settings.sftpPort,
    username: settings.sftpUsername,
    folder: settings.sftpFolder,
    hostKeySha256: trust.fingerprint,
    ...decryptSftpCredential(credential),
  };
  const result = await testSftp(sftp, { timeoutMs: TEST_TIMEOUT_MS });
  if (!result.ok) {
    return {
      ok: true,
      report: {
        ok: false,
        tone: "error",
        message: result.presentedFingerprint
          ? `${result.reason} Confirm the new fingerprint (under SFTP server) only once the server's administrator has told you the key changed.`
          : result.reason,
        ...(result.presentedFingerprint
          ? { hostKey: { fingerprint: result.presentedFingerprint, readFrom: server, replaces: trust.fingerprint } }
          : {}),
      },
    };
  }
  const note = await encryptionNote(result.files, pgpKeyIdsFor(saved, settings.pgpKey), (file) =>
    openOnce(createSftpDelivery(sftp, { timeoutMs: TEST_TIMEOUT_MS }), file),
  );
  const count = result.files.length;
  return {
    ok: true,
    report: {
      ok: true,
      tone: "success",
      message:
        `${server} presented the confirmed host key; signed in as ${settings.sftpUsername} and listed ${settings.sftpFolder}: ` +
        (count > 0
          ? `the ${count === 1 ? "newest file is" : `${count} newest files are`} below.`
          : "it holds no export files yet. Symphony puts them there once an export has run."),
      files: result.files.map(fileInfo),
      notes: note ? [note] : [],
    },
  };
}

const conversations = (count: number) => `${count} conversation${count === 1 ? "" : "s"}`;

const hexIds = (ids: string[]) => ids.map((id) => id.toUpperCase()).join(", ");

/**
 * Whether the PGP key (typed, or on file) can decrypt the newest encrypted file: compared by key id,
 * from the API's metadata or, when it has none (SFTP), from the file's first bytes.
 */
async function encryptionNote(
  files: RemoteExportFile[],
  keyIds: string[] | undefined,
  open: (file: RemoteExportFile) => Promise<Readable>,
): Promise<TestNote | undefined> {
  const file = files.find((candidate) => candidate.encrypted);
  if (!file) {
    return keyIds && files.length > 0
      ? {
          tone: "info",
          text: "None of the newest files is PGP-encrypted; the decryption key is kept for files that are.",
        }
      : undefined;
  }
  let recipients: string[];
  try {
    recipients = file.encryptionKeyId
      ? [file.encryptionKeyId.toLowerCase()]
      : await encryptionKeyIdsOf(await open(file));
  } catch (error) {
    if (!(error instanceof Error)) throw error;
    logger.warn({ file: file.name, error: error.message }, "could not read the recipients of an export file");
    return {
      tone: "error",
      text: `Could not read whom the newest encrypted file, ${file.name}, is encrypted to${error instanceof ExportFileError ? `: ${error.message}` : ""}.`,
    };
  }
  const encryptedTo = `The newest encrypted file, ${file.name}, is encrypted to ${hexIds(recipients)}`;
  if (!keyIds) {
    return {
      tone: "error",
      text: `${encryptedTo}, and no PGP decryption key is on file: add the private key of ${hexIds(recipients)} below, or the connector cannot read such files.`,
    };
  }
  if (recipients.some((id) => keyIds.includes(id))) {
    return { tone: "success", text: `${encryptedTo}; your key has ${hexIds(keyIds)}: it can decrypt it.` };
  }
  return {
    tone: "error",
    text: `${encryptedTo}, but your key has ${hexIds(keyIds)}: it cannot decrypt it. Check which key the Admin Portal's Export Content settings encrypt to.`,
  };
}

function fileInfo(file: RemoteExportFile): ExportFileInfo {
  const { name, format, size, jobType, periodStart, periodEnd, encrypted, encryptionKeyId } = file;
  return { name, format, size, jobType, periodStart, periodEnd, encrypted, encryptionKeyId };
}

/** One file's bytes from a delivery of its own, closed once the stream is done with (or failed to open). */
async function openOnce(delivery: ExportDelivery, file: RemoteExportFile): Promise<Readable> {
  const close = () => void delivery.close().catch(() => undefined);
  try {
    const stream = await delivery.open(file);
    stream.once("close", close);
    return stream;
  } catch (error) {
    close();
    throw error;
  }
}

/**
 * Test connection with the settings and secrets on file, as Finish runs it: a connector whose source
 * refuses it would only fail its first import.
 */
export async function testSavedSource(connectorId: string): Promise<SourceTestResult> {
  const saved = await db.connector.findUniqueOrThrow({
    where: { id: connectorId },
    select: {
      sourceKind: true,
      exportDelivery: true,
      podUrl: true,
      agentUrl: true,
      keyManagerUrl: true,
      botUsername: true,
      streamTypes: true,
      sftpHost: true,
      sftpPort: true,
      sftpUsername: true,
      sftpFolder: true,
      sftpHostKeySha256: true,
      startDate: true,
      realtime: true,
      pendingEdit: true,
    },
  });
  const c = asEdited(saved);
  return testSource(connectorId, {
    ...savedSourceValues(c),
    sftpHostKeySha256: c.sftpHostKeySha256 ?? "",
    sftpHostKeyFor: c.sftpHost ? `${c.sftpHost}:${c.sftpPort}` : "",
    sftpHostKeyConfirmed: Boolean(c.sftpHostKeySha256),
  });
}
