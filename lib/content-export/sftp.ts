// Delivery 2: an SFTP folder Symphony pushes export files to. The server's host key is pinned (a
// different key is refused before anything is sent), the host must pass the same private-address
// guard as the Symphony URLs, and nothing on the server is ever deleted, renamed or written.
import { posix } from "node:path";
import { PassThrough, type Readable } from "node:stream";
import { setTimeout as delay } from "node:timers/promises";
import type { Client, ConnectConfig, SFTPWrapper } from "ssh2";
import { config } from "@/lib/config";
import { PrivateAddressError, resolveAllowedAddresses } from "@/lib/symphony";
import { hintsFromName } from "./name-hints";
import {
  byUploadTime,
  isMd5Name,
  looksEncrypted,
  parseMd5Text,
  type ExportDelivery,
  type ReadyListing,
  type RemoteExportFile,
} from "./remote-file";
import { ExportDownloadError } from "./errors";
import { HostKeyMismatchError, SftpError } from "./sftp-errors";
import { sftpProbeSchema, sftpSettingsSchema, type SftpSettings, type SftpSettingsInput } from "./sftp-settings";
import { hostKeyOf, type HostKey } from "./ssh-host-key";

export type SftpOptions = {
  /** Whether the host may be a loopback, link-local or private address; default SYMPHONY_ALLOW_PRIVATE_HOSTS. */
  allowPrivateHosts?: boolean;
  /** Time allowed for the connection, the SSH handshake and the sign-in together. */
  timeoutMs?: number;
  /** How long the server may leave a listing, a `.md5` or a download without a byte before it fails (default 2 minutes). */
  readIdleMs?: number;
};

const DEFAULT_READ_IDLE_MS = 120_000;
/** SSH keepalives: a server that answers none of 4 in a row, 15 s apart, is gone and the connection closed. */
const KEEPALIVE = { keepaliveInterval: 15_000, keepaliveCountMax: 4 };

export type SftpDelivery = ExportDelivery & {
  /** The newest files of the folder from one listing, newest first, without their `.md5` (Test connection). */
  listNewest(count: number): Promise<RemoteExportFile[]>;
};

type Entry = { name: string; size: number | undefined; mtime: number | undefined };
type Connection = { sftp: SFTPWrapper; client: Client; closed: Promise<void> };

const DEFAULT_TIMEOUT_MS = 20_000;
const MD5_MAX_BYTES = 4_096;
const REGULAR_FILE = 0o100000;
const FILE_TYPE_MASK = 0o170000;
// SFTP status codes (draft-ietf-secsh-filexfer-02).
const EOF = 1; // no more to read, or no more entries
const NO_SUCH_FILE = 2;
const PERMISSION_DENIED = 3;

export function createSftpDelivery(input: SftpSettingsInput, options: SftpOptions = {}): SftpDelivery {
  const idleMs = options.readIdleMs ?? DEFAULT_READ_IDLE_MS;
  const settings = sftpSettingsSchema.parse(input);
  const folder = normalizeFolder(settings.folder);
  let connection: Promise<Connection> | undefined;

  function connected(): Promise<Connection> {
    const pin = settings.hostKeySha256;
    if (!pin) {
      return Promise.reject(
        new SftpError(
          "host_key_unconfirmed",
          `The host key of the SFTP server ${where(settings)} has not been confirmed yet: run Test connection and confirm its fingerprint.`,
        ),
      );
    }
    if (!connection) {
      const attempt = openConnection(settings, pin, options);
      connection = attempt;
      const forget = () => {
        if (connection === attempt) connection = undefined;
      };
      attempt.then(({ closed }) => closed.then(forget), forget);
    }
    return connection;
  }

  async function readMd5(sftp: SFTPWrapper, entry: Entry): Promise<string | null> {
    if (entry.size === undefined || entry.size > MD5_MAX_BYTES) return null;
    const path = posix.join(folder, entry.name);
    try {
      const text = await answered(readStart(sftp, path, MD5_MAX_BYTES), idleMs, `read ${entry.name}`);
      return parseMd5Text(text.toString("utf8"));
    } catch (error) {
      if (statusCode(error) === NO_SUCH_FILE) return null;
      throw sftpStatusError(error, `read ${entry.name}`);
    }
  }

  function toRemoteFile(entry: Entry, md5: string | null): RemoteExportFile {
    const hints = hintsFromName(entry.name);
    return {
      sourceId: posix.join(folder, entry.name),
      name: entry.name,
      size: entry.size ?? null,
      integrityHash: null,
      md5,
      uploadTime: entry.mtime === undefined ? null : new Date(entry.mtime * 1000),
      format: null,
      jobType: hints.jobType,
      periodStart: hints.periodStart,
      periodEnd: hints.periodEnd,
      generatedAt: hints.generatedAt,
      encryptionKeyId: null,
      encrypted: looksEncrypted(entry.name),
    };
  }

  return {
    async listReady({ uploadedAfter, signal } = {}): Promise<ReadyListing> {
      const { sftp } = await connected();
      signal?.throwIfAborted();
      const first = await listFolder(sftp, folder, idleMs);
      // mtime has second precision: a file of the same second as uploadedAfter is listed again (the caller's ledger knows it).
      const after = uploadedAfter ? Math.floor(uploadedAfter.getTime() / 1000) : undefined;
      const candidates = [...first.values()].filter(
        (entry) => !isMd5Name(entry.name) && (after === undefined || (entry.mtime ?? Infinity) >= after),
      );
      if (candidates.length === 0) return { ready: [], stillWriting: [] };

      await delay(settings.settleMs, undefined, { signal });
      const second = await listFolder(sftp, folder, idleMs);
      const stillWriting: string[] = [];
      const settled: { entry: Entry; md5Entry: Entry | undefined }[] = [];
      for (const before of candidates) {
        const now = second.get(before.name);
        if (!now) continue; // gone since the first look
        const md5Before = first.get(`${before.name}.md5`);
        const md5Now = second.get(`${before.name}.md5`);
        // The sidecar is written after the file: wait for it rather than skip the check.
        const md5Settled = !md5Now || (md5Before !== undefined && unchanged(md5Before, md5Now));
        if (unchanged(before, now) && md5Settled) settled.push({ entry: now, md5Entry: md5Now });
        else stillWriting.push(before.name);
      }
      const ready: RemoteExportFile[] = [];
      for (const { entry, md5Entry } of settled) {
        ready.push(toRemoteFile(entry, md5Entry ? await readMd5(sftp, md5Entry) : null));
      }
      return { ready: ready.sort(byUploadTime), stillWriting };
    },

    async listNewest(count) {
      const { sftp } = await connected();
      const entries = [...(await listFolder(sftp, folder, idleMs)).values()].filter((entry) => !isMd5Name(entry.name));
      return entries
        .map((entry) => toRemoteFile(entry, null))
        .sort((a, b) => byUploadTime(b, a))
        .slice(0, count);
    },

    async open(file, signal) {
      const path = file.sourceId;
      if (posix.dirname(path) !== folder || posix.basename(path) !== file.name) {
        throw new SftpError("not_found", `${JSON.stringify(file.name)} is not a file of the remote folder ${folder}.`);
      }
      const { sftp } = await connected();
      signal?.throwIfAborted();
      // From here on a failure is this file's own (the connection and sign-in succeeded).
      await new Promise<void>((resolve, reject) =>
        sftp.stat(path, (error) => (error ? reject(readFailed(error, file.name)) : resolve())),
      );
      return readStream(sftp, path, file, idleMs, signal);
    },

    async close() {
      const current = connection;
      connection = undefined;
      const open = await current?.catch(() => undefined);
      if (!open) return;
      open.client.end();
      await Promise.race([open.closed, delay(5_000)]);
    },
  };
}

/**
 * The server's host key, without signing in: the verifier records the key and refuses it, so the
 * connection ends during the key exchange and no user name, password or key is ever sent.
 */
export async function probeSftpHostKey(
  input: { host: string; port?: number | string; username?: string },
  options: SftpOptions = {},
): Promise<HostKey> {
  const target = sftpProbeSchema.parse(input);
  const address = await allowedAddress(target.host, options);
  const { default: ssh2 } = await import("ssh2");
  const client = new ssh2.Client();
  return new Promise<HostKey>((resolve, reject) => {
    let presented: HostKey | undefined;
    let settled = false;
    const finish = (error?: unknown) => {
      if (settled) return;
      settled = true;
      client.end();
      if (presented) return resolve(presented);
      reject(connectionError(error ?? closedEarly(), { ...target, methods: "", presented: undefined, pin: undefined }));
    };
    client.on("error", finish);
    client.on("close", () => finish());
    client.on("ready", () => finish());
    try {
      client.connect({
        host: address,
        port: target.port,
        username: target.username,
        readyTimeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        hostVerifier: (key: Buffer) => {
          presented = hostKeyOf(key);
          return false;
        },
        authHandler: [],
      });
    } catch (error) {
      finish(error);
    }
  });
}

async function openConnection(settings: SftpSettings, pin: string, options: SftpOptions): Promise<Connection> {
  const address = await allowedAddress(settings.host, options);
  const { default: ssh2 } = await import("ssh2");
  const client = new ssh2.Client();
  const closed = new Promise<void>((resolve) => client.once("close", () => resolve()));
  const methods = [settings.privateKeyPem && "private key", settings.password && "password"]
    .filter(Boolean)
    .join(" or ");
  let presented: HostKey | undefined;
  return new Promise<Connection>((resolve, reject) => {
    let settled = false;
    const fail = (error: unknown) => {
      if (settled) return;
      settled = true;
      client.end();
      reject(error instanceof SftpError ? error : connectionError(error, { ...settings, methods, presented, pin }));
    };
    // Kept after sign-in too: an error on a live connection must not crash the process (it closes it).
    client.on("error", fail);
    client.on("close", () => fail(closedEarly()));
    client.on("ready", () =>
      client.sftp((error, sftp) => {
        if (error) {
          return fail(
            new SftpError("sftp_failed", `The server ${where(settings)} does not offer SFTP to this user.`, {
              detail: error.message,
              cause: error,
            }),
          );
        }
        settled = true;
        resolve({ client, sftp, closed });
      }),
    );
    const config: ConnectConfig = {
      host: address,
      port: settings.port,
      username: settings.username,
      password: settings.password,
      privateKey: settings.privateKeyPem,
      passphrase: settings.privateKeyPassphrase,
      readyTimeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      ...KEEPALIVE,
      hostVerifier: (key: Buffer) => {
        presented = hostKeyOf(key);
        return presented.fingerprint === pin;
      },
      authHandler: [
        ...(settings.privateKeyPem ? (["publickey"] as const) : []),
        ...(settings.password ? (["password"] as const) : []),
      ],
    };
    try {
      client.connect(config);
    } catch (error) {
      fail(error);
    }
  });
}

/** The address to connect to: the host must pass the private-address guard of the Symphony URLs. */
async function allowedAddress(host: string, options: SftpOptions): Promise<string> {
  const allowPrivateHosts = options.allowPrivateHosts ?? config().SYMPHONY_ALLOW_PRIVATE_HOSTS;
  try {
    const [first] = await resolveAllowedAddresses(host, allowPrivateHosts);
    if (first) return first.address;
  } catch (error) {
    if (error instanceof PrivateAddressError) {
      throw new SftpError(
        "blocked_host",
        `The SFTP host ${host} is a loopback, link-local or private address, which this server does not connect to. ` +
          `When the SFTP server is on your own network, the operator sets SYMPHONY_ALLOW_PRIVATE_HOSTS=true (link-local and cloud metadata addresses stay refused even then).`,
        { cause: error },
      );
    }
    throw connectionError(error, { host, port: 0, username: "", methods: "" });
  }
  throw new SftpError("host_not_found", `The SFTP host name ${host} was not found.`);
}

type Attempt = {
  host: string;
  port: number;
  username: string;
  /** "private key", "password" or both, as the admin entered them. */
  methods: string;
  pin?: string;
  presented?: HostKey;
};

/** An ssh2 or socket failure in plain words: never the server's text, a password or a key. */
function connectionError(error: unknown, attempt: Attempt): SftpError {
  const failure = error as { level?: string; code?: unknown; message?: string } | undefined;
  const detail = failure?.message;
  const options = { detail, cause: error };
  const at = attempt.port ? `${attempt.host}:${attempt.port}` : attempt.host;
  if (attempt.pin && attempt.presented && attempt.presented.fingerprint !== attempt.pin) {
    return new HostKeyMismatchError({ host: at, expected: attempt.pin, presented: attempt.presented.fingerprint });
  }
  if (failure?.level === "client-authentication") {
    return new SftpError(
      "auth_rejected",
      `The SFTP server ${at} refused the sign-in of user "${attempt.username}" with the ${attempt.methods}. ` +
        `Check the user name and the ${attempt.methods}.`,
      options,
    );
  }
  if (failure?.level === "client-timeout" || failure?.code === "ETIMEDOUT") {
    return new SftpError("timeout", `The SFTP server ${at} did not answer in time.`, options);
  }
  switch (failure?.code) {
    case "ECONNREFUSED":
      return new SftpError(
        "connection_refused",
        `The SFTP server ${at} refused the connection: check the host and port.`,
        options,
      );
    case "ENOTFOUND":
    case "EAI_AGAIN":
    case "ENODATA":
      return new SftpError("host_not_found", `The SFTP host name ${attempt.host} was not found.`, options);
    case "ECONNRESET":
    case "EPIPE":
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return new SftpError(
        "network",
        `The connection to the SFTP server ${at} failed (${String(failure.code)}).`,
        options,
      );
  }
  if (failure?.level === "protocol" || failure?.level === "handshake") {
    return new SftpError(
      "handshake_failed",
      `The SSH handshake with ${at} failed: it is not an SSH server, or it shares no algorithm with this one.`,
      options,
    );
  }
  return new SftpError("network", `The connection to the SFTP server ${at} failed.`, options);
}

function closedEarly(): SftpError {
  return new SftpError("sftp_failed", "The SFTP server closed the connection.");
}

function where(settings: { host: string; port: number }): string {
  return `${settings.host}:${settings.port}`;
}

/**
 * At most the first `maxBytes` of a file, with one READ: ssh2's readFile would allocate whatever size
 * the server's FSTAT claims, or read until the server stops.
 */
async function readStart(sftp: SFTPWrapper, path: string, maxBytes: number): Promise<Buffer> {
  const handle = await new Promise<Buffer>((resolve, reject) =>
    sftp.open(path, "r", (error, opened) => (error ? reject(error) : resolve(opened))),
  );
  try {
    const buffer = Buffer.alloc(maxBytes);
    const read = await new Promise<number>((resolve, reject) =>
      sftp.read(handle, buffer, 0, maxBytes, 0, (error, bytesRead) =>
        // SSH_FX_EOF on an empty file
        error ? (statusCode(error) === EOF ? resolve(0) : reject(error)) : resolve(bytesRead),
      ),
    );
    return buffer.subarray(0, read);
  } finally {
    sftp.close(handle, () => {});
  }
}

/**
 * The operation's result, or an SftpError once the server has not answered for `ms`: a server that
 * answers keepalives but nothing else would otherwise hold the run for good.
 */
async function answered<T>(operation: Promise<T>, ms: number, action: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const silence = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(new SftpError("sftp_failed", `Could not ${action}: the SFTP server sent nothing for ${ms / 1000} s.`)),
      ms,
    );
  });
  try {
    return await Promise.race([operation, silence]);
  } finally {
    clearTimeout(timer);
  }
}

/** Entries of a folder no export folder comes near: a server listing without end is refused. */
const MAX_FOLDER_ENTRIES = 200_000;

type DirEntry = { filename: string; attrs: { mode?: number; size?: number; mtime?: number } };

/** The folder's entries, read page by page (ssh2's readdir of a path collects them all, without bound). */
async function readFolder(sftp: SFTPWrapper, folder: string): Promise<DirEntry[]> {
  const handle = await new Promise<Buffer>((resolve, reject) =>
    sftp.opendir(folder, (error, opened) => (error ? reject(error) : resolve(opened))),
  );
  const all: DirEntry[] = [];
  try {
    for (;;) {
      const page = await new Promise<DirEntry[] | undefined>((resolve, reject) =>
        sftp.readdir(handle, (error, list) =>
          error ? (statusCode(error) === EOF ? resolve(undefined) : reject(error)) : resolve(list),
        ),
      );
      if (!page) return all;
      all.push(...page);
      if (all.length > MAX_FOLDER_ENTRIES)
        throw new SftpError(
          "sftp_failed",
          `The remote folder ${folder} lists more than ${MAX_FOLDER_ENTRIES} entries.`,
        );
    }
  } finally {
    sftp.close(handle, () => {});
  }
}

/** The folder's regular files; a server that leaves the listing unanswered for `idleMs` fails it. */
async function listFolder(sftp: SFTPWrapper, folder: string, idleMs: number): Promise<Map<string, Entry>> {
  const action = `list the remote folder ${folder}`;
  const list = await answered(readFolder(sftp, folder), idleMs, action).catch((error: unknown) => {
    throw sftpStatusError(error, action);
  });
  const entries = new Map<string, Entry>();
  for (const { filename, attrs } of list) {
    if (filename === "." || filename === ".." || /[/\\\0]/.test(filename)) continue;
    const type = attrs.mode === undefined ? undefined : attrs.mode & FILE_TYPE_MASK;
    if (type !== undefined && type !== REGULAR_FILE) continue;
    entries.set(filename, { name: filename, size: attrs.size, mtime: attrs.mtime });
  }
  return entries;
}

function unchanged(before: Entry, now: Entry): boolean {
  return before.size !== undefined && before.size === now.size && before.mtime === now.mtime;
}

/** Reading a file failed once connected and signed in (the server's error, or why in words): that file's own failure. */
function readFailed(error: unknown, name: string): ExportDownloadError {
  return new ExportDownloadError(
    typeof error === "string"
      ? new SftpError("sftp_failed", `Could not read ${name}: ${error}.`)
      : sftpStatusError(error, `read ${name}`),
  );
}

/**
 * The file's bytes. A server that sends nothing for `idleMs`, or more than the size it listed, fails
 * the download (that file's own failure): a hung or endless file must not hold the run, or fill staging.
 */
function readStream(
  sftp: SFTPWrapper,
  path: string,
  file: { name: string; size: number | null },
  idleMs: number,
  signal?: AbortSignal,
): Readable {
  const { name } = file;
  const source = sftp.createReadStream(path);
  const out = new PassThrough();
  source.on("error", (error: unknown) =>
    out.destroy(signal?.aborted ? (signal.reason as Error) : readFailed(error, name)),
  );
  let received = 0;
  // Timed only while the bytes flow to us: paused, the reader downstream (staging) is the slow one.
  let idle: NodeJS.Timeout | undefined;
  const watch = () => {
    clearTimeout(idle);
    idle = setTimeout(
      () => out.destroy(readFailed(`the SFTP server sent nothing for ${idleMs / 1000} s`, name)),
      idleMs,
    );
  };
  const unwatch = () => clearTimeout(idle);
  watch();
  source.on("data", (chunk: Buffer) => {
    watch();
    received += chunk.length;
    if (file.size !== null && received > file.size)
      out.destroy(readFailed(`the SFTP server sent more than the ${file.size} bytes it listed`, name));
  });
  source.on("pause", unwatch);
  source.on("resume", watch);
  source.on("end", unwatch);
  out.on("close", unwatch);
  const abort = () => out.destroy(signal?.reason as Error);
  signal?.addEventListener("abort", abort, { once: true });
  out.on("close", () => {
    signal?.removeEventListener("abort", abort);
    source.destroy();
  });
  return source.pipe(out);
}

function statusCode(error: unknown): unknown {
  return (error as { code?: unknown } | undefined)?.code;
}

function sftpStatusError(error: unknown, action: string): SftpError {
  if (error instanceof SftpError) return error;
  const options = { detail: (error as Error | undefined)?.message, cause: error };
  switch (statusCode(error)) {
    case NO_SUCH_FILE:
      return new SftpError("not_found", `Could not ${action}: it does not exist on the SFTP server.`, options);
    case PERMISSION_DENIED:
      return new SftpError("permission_denied", `Could not ${action}: the SFTP server denied permission.`, options);
    default:
      return new SftpError("sftp_failed", `Could not ${action} on the SFTP server.`, options);
  }
}

function normalizeFolder(folder: string): string {
  const normalized = posix.normalize(folder);
  return normalized.length > 1 ? normalized.replace(/\/+$/, "") : normalized;
}
