// The SFTP site Symphony pushes export files to: an ssh2 server with one read-only folder holding
// the same files as the Files API plus their `.md5` files. Anything that would change the folder is
// refused with PERMISSION_DENIED and counted, so tests can assert that nothing was deleted.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { AddressInfo } from "node:net";
import path from "node:path";
import ssh2, { type Attributes, type AuthContext, type Connection, type FileEntry, type SFTPWrapper } from "ssh2";
import type { ExportFiles, ServedEntry } from "./export-files";

const { Server, utils } = ssh2;
const { OPEN_MODE, STATUS_CODE } = ssh2.utils.sftp;

export const SFTP_FOLDER = "/exports";

export type SftpStats = { removes: number; renames: number; writes: number; opens: number };

export type SftpAccess = {
  host: string;
  port: number;
  username: string;
  password: string;
  /** The user's private key (OpenSSH format) for publickey authentication. */
  privateKeyPem: string;
  folder: typeof SFTP_FOLDER;
  /** The host key's fingerprint as `ssh-keygen -lf` prints it. */
  hostKeySha256: string;
  /** The host key (OpenSSH format), to keep the same one across restarts. */
  hostKeyPem: string;
};

export type SftpCredentials = { hostKeyPem?: string; username?: string; password?: string; privateKeyPem?: string };

function parsed(key: string) {
  const result = utils.parseKey(key);
  if (result instanceof Error) throw result;
  return result;
}

/** OpenSSH's fingerprint: SHA256 of the public key blob, base64 without padding. */
export function sshFingerprint(publicKeyBlob: Buffer): string {
  return `SHA256:${createHash("sha256").update(publicKeyBlob).digest("base64").replace(/=+$/, "")}`;
}

type KeyCipher = { passphrase: string; cipher: string; rounds: number };

/**
 * An ed25519 key pair in OpenSSH format. ssh2's generator drops a leading zero byte of the public key
 * (about one key in 256) and its own parser then refuses both halves, so such a key is drawn again.
 */
export function generateSshKeyPair(cipher?: KeyCipher): { private: string; public: string } {
  for (;;) {
    const pair = cipher ? utils.generateKeyPairSync("ed25519", cipher) : utils.generateKeyPairSync("ed25519");
    const usable = [utils.parseKey(pair.private, cipher?.passphrase), utils.parseKey(pair.public)];
    if (!usable.some((key) => key instanceof Error)) return pair;
  }
}

/** A host key, a user key and a password, for a server that keeps them across restarts. */
export function generateSftpSecrets(): { hostKeyPem: string; privateKeyPem: string; password: string } {
  return {
    hostKeyPem: generateSshKeyPair().private,
    privateKeyPem: generateSshKeyPair().private,
    password: randomBytes(18).toString("base64url"),
  };
}

const sameText = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

const FILE_MODE = 0o100444;
const DIR_MODE = 0o040555;

function attrs(mode: number, size: number, time: number): Attributes {
  const seconds = Math.floor(time / 1000);
  return { mode, uid: 0, gid: 0, size, atime: seconds, mtime: seconds };
}

function longname(entry: FileEntry): string {
  const date = new Date(entry.attrs.mtime * 1000).toUTCString().slice(5, 22); // "01 Jan 2024 12:00"
  const kind = (entry.attrs.mode & 0o170000) === 0o040000 ? "dr-xr-xr-x" : "-r--r--r--";
  return `${kind}    1 export   export   ${String(entry.attrs.size).padStart(10)} ${date} ${entry.filename}`;
}

const entryOf = (filename: string, a: Attributes): FileEntry => {
  const entry = { filename, longname: "", attrs: a };
  entry.longname = longname(entry);
  return entry;
};

type Handle = { kind: "file"; bytes: Buffer; uploadTime: number } | { kind: "dir"; entries: FileEntry[] };

function serveSftp(sftp: SFTPWrapper, files: ExportFiles, stats: SftpStats, stallReads: () => boolean) {
  const handles = new Map<number, Handle>();
  let nextHandle = 0;
  const openHandle = (h: Handle) => {
    const id = nextHandle++;
    handles.set(id, h);
    const buffer = Buffer.alloc(4);
    buffer.writeUInt32BE(id);
    return buffer;
  };
  const handleOf = (buffer: Buffer) => (buffer.length === 4 ? handles.get(buffer.readUInt32BE(0)) : undefined);

  /** The folder's files now; a re-upload under the same name replaces the earlier file. */
  async function folder(observe: boolean): Promise<Map<string, ServedEntry>> {
    const byName = new Map<string, ServedEntry>();
    for (const e of (await files.entries(observe)).sort((a, b) => a.uploadTime - b.uploadTime)) byName.set(e.name, e);
    return byName;
  }
  async function fileAt(p: string, observe: boolean): Promise<ServedEntry | undefined> {
    const normal = path.posix.resolve("/", p);
    if (path.posix.dirname(normal) !== SFTP_FOLDER) return undefined;
    const name = path.posix.basename(normal);
    const e = (await folder(false)).get(name);
    // A file being written grows each time it is looked at.
    return e && observe && e.fault === "being-written" ? files.entry(e.id, true) : e;
  }
  const isDir = (p: string) => ["/", SFTP_FOLDER].includes(path.posix.resolve("/", p));

  const refuse = (counter: keyof SftpStats) => (reqId: number) => {
    stats[counter]++;
    sftp.status(reqId, STATUS_CODE.PERMISSION_DENIED, "The export folder is read-only");
  };
  const async = (reqId: number, work: () => Promise<void>) => {
    work().catch(() => sftp.status(reqId, STATUS_CODE.FAILURE));
  };
  const stat = (reqId: number, p: string) =>
    async(reqId, async () => {
      if (isDir(p)) return sftp.attrs(reqId, attrs(DIR_MODE, 0, Date.now()));
      const e = await fileAt(p, true);
      if (!e) return sftp.status(reqId, STATUS_CODE.NO_SUCH_FILE);
      sftp.attrs(reqId, attrs(FILE_MODE, e.bytes.length, e.uploadTime));
    });

  sftp
    .on("REALPATH", (reqId, p) => {
      const normal = path.posix.resolve("/", p || ".");
      sftp.name(reqId, [{ filename: normal, longname: normal, attrs: {} as Attributes }]);
    })
    .on("STAT", stat)
    .on("LSTAT", stat)
    .on("OPENDIR", (reqId, p) =>
      async(reqId, async () => {
        const normal = path.posix.resolve("/", p);
        if (normal === "/")
          return sftp.handle(
            reqId,
            openHandle({ kind: "dir", entries: [entryOf("exports", attrs(DIR_MODE, 0, Date.now()))] }),
          );
        if (normal !== SFTP_FOLDER) return sftp.status(reqId, STATUS_CODE.NO_SUCH_FILE);
        const entries = [...(await folder(true)).values()].map((e) =>
          entryOf(e.name, attrs(FILE_MODE, e.bytes.length, e.uploadTime)),
        );
        sftp.handle(reqId, openHandle({ kind: "dir", entries }));
      }),
    )
    .on("READDIR", (reqId, buffer) => {
      const h = handleOf(buffer);
      if (h?.kind !== "dir") return sftp.status(reqId, STATUS_CODE.FAILURE);
      if (h.entries.length === 0) return sftp.status(reqId, STATUS_CODE.EOF);
      sftp.name(reqId, h.entries.splice(0, 64));
    })
    .on("OPEN", (reqId, p, flags) =>
      async(reqId, async () => {
        if (flags & (OPEN_MODE.WRITE | OPEN_MODE.APPEND | OPEN_MODE.CREAT | OPEN_MODE.TRUNC | OPEN_MODE.EXCL))
          return refuse("writes")(reqId);
        const e = await fileAt(p, false);
        if (!e) return sftp.status(reqId, STATUS_CODE.NO_SUCH_FILE);
        stats.opens++;
        sftp.handle(reqId, openHandle({ kind: "file", bytes: e.bytes, uploadTime: e.uploadTime }));
      }),
    )
    .on("READ", (reqId, buffer, offset, length) => {
      const h = handleOf(buffer);
      if (h?.kind !== "file") return sftp.status(reqId, STATUS_CODE.FAILURE);
      if (stallReads()) return; // never answered
      if (offset >= h.bytes.length) return sftp.status(reqId, STATUS_CODE.EOF);
      sftp.data(reqId, h.bytes.subarray(offset, offset + length));
    })
    .on("FSTAT", (reqId, buffer) => {
      const h = handleOf(buffer);
      if (h?.kind !== "file") return sftp.status(reqId, STATUS_CODE.FAILURE);
      sftp.attrs(reqId, attrs(FILE_MODE, h.bytes.length, h.uploadTime));
    })
    .on("CLOSE", (reqId, buffer) => {
      if (buffer.length !== 4 || !handles.delete(buffer.readUInt32BE(0)))
        return sftp.status(reqId, STATUS_CODE.FAILURE);
      sftp.status(reqId, STATUS_CODE.OK);
    })
    .on("READLINK", (reqId) => sftp.status(reqId, STATUS_CODE.NO_SUCH_FILE))
    .on("REMOVE", refuse("removes"))
    .on("RMDIR", refuse("removes"))
    .on("RENAME", refuse("renames"))
    .on("WRITE", refuse("writes"))
    .on("MKDIR", refuse("writes"))
    .on("SETSTAT", refuse("writes"))
    .on("FSETSTAT", refuse("writes"))
    .on("SYMLINK", refuse("writes"));
}

function authenticate(ctx: AuthContext, access: SftpAccess, userKey: ReturnType<typeof parsed>) {
  if (!sameText(ctx.username, access.username)) return ctx.reject();
  if (ctx.method === "password") return sameText(ctx.password, access.password) ? ctx.accept() : ctx.reject();
  if (ctx.method === "publickey") {
    if (ctx.key.algo !== userKey.type || !ctx.key.data.equals(userKey.getPublicSSH())) return ctx.reject();
    // Without a signature the client only asks whether the key would do.
    if (!ctx.signature || !ctx.blob) return ctx.accept();
    return userKey.verify(ctx.blob, ctx.signature, ctx.hashAlgo) ? ctx.accept() : ctx.reject();
  }
  ctx.reject(["password", "publickey"]);
}

export async function startSftp(options: {
  host: string;
  port: number;
  credentials?: SftpCredentials;
  files: ExportFiles;
  stats: SftpStats;
  /** Whether READ requests go unanswered for now. */
  stallReads?: () => boolean;
}): Promise<{ access: SftpAccess; close(): Promise<void> }> {
  const given = options.credentials ?? {};
  const fresh = generateSftpSecrets();
  const hostKeyPem = given.hostKeyPem ?? fresh.hostKeyPem;
  const privateKeyPem = given.privateKeyPem ?? fresh.privateKeyPem;
  const userKey = parsed(privateKeyPem);
  const access: SftpAccess = {
    host: options.host,
    port: 0,
    username: given.username ?? "symphony-export",
    password: given.password ?? fresh.password,
    privateKeyPem,
    folder: SFTP_FOLDER,
    hostKeySha256: sshFingerprint(parsed(hostKeyPem).getPublicSSH()),
    hostKeyPem,
  };
  const clients = new Set<Connection>();
  const server = new Server({ hostKeys: [hostKeyPem] }, (client) => {
    clients.add(client);
    client
      .on("authentication", (ctx) => authenticate(ctx, access, userKey))
      .on("ready", () =>
        client.on("session", (acceptSession) =>
          acceptSession().on("sftp", (acceptSftp) =>
            serveSftp(acceptSftp(), options.files, options.stats, options.stallReads ?? (() => false)),
          ),
        ),
      )
      .on("error", () => clients.delete(client))
      .on("close", () => clients.delete(client));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => resolve());
  });
  access.port = (server.address() as AddressInfo).port;
  return {
    access,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of clients) client.end();
        server.close(() => resolve());
      }),
  };
}
