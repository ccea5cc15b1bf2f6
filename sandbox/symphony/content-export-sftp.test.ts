import { createHash } from "node:crypto";
import ssh2, { type SFTPWrapper } from "ssh2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSymphonySandbox, type SftpAccess, type SymphonySandbox } from "./index";
import { generateSshKeyPair } from "./sftp";

const { Client } = ssh2;
const PERMISSION_DENIED = 3;
const END = Date.UTC(2025, 5, 1, 8);

let sandbox: SymphonySandbox;
let access: SftpAccess;
beforeAll(async () => {
  sandbox = await startSymphonySandbox({
    seed: "ce-sftp",
    org: { users: 6, messages: 30, largeAttachments: false, end: END, periodDays: 10 },
    contentExport: { sftp: true },
  });
  access = sandbox.contentExport!.sftp!;
});
afterAll(() => sandbox.close());

type Session = { sftp: SFTPWrapper; hostKey: Buffer; end(): void };

function connect(to: SftpAccess, auth: { password: string } | { privateKey: string }): Promise<Session> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    let hostKey: Buffer = Buffer.alloc(0);
    client
      .on("ready", () =>
        client.sftp((error, sftp) => (error ? reject(error) : resolve({ sftp, hostKey, end: () => client.end() }))),
      )
      .on("error", reject)
      .connect({
        host: to.host,
        port: to.port,
        username: to.username,
        ...auth,
        hostVerifier: (key: Buffer) => {
          hostKey = key;
          return true;
        },
      });
  });
}

const call = <T>(run: (done: (error: Error | null | undefined, value?: T) => void) => void) =>
  new Promise<T>((resolve, reject) => run((error, value) => (error ? reject(error) : resolve(value as T))));

const readFile = (sftp: SFTPWrapper, path: string) =>
  call<Buffer>((done) => sftp.readFile(path, (error: Error | null | undefined, data: Buffer) => done(error, data)));
const names = async (sftp: SFTPWrapper) =>
  (await call<Array<{ filename: string }>>((done) => sftp.readdir(access.folder, done))).map((e) => e.filename).sort();

describe("SFTP delivery", () => {
  it("shows a host key whose fingerprint is the OpenSSH SHA256 one it announces", async () => {
    const session = await connect(access, { password: access.password });
    try {
      const fingerprint = `SHA256:${createHash("sha256").update(session.hostKey).digest("base64").replace(/=+$/, "")}`;
      expect(fingerprint).toBe(access.hostKeySha256);
      expect(access.hostKeySha256).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
      expect(await call<string>((done) => session.sftp.realpath(".", done))).toBe("/");
    } finally {
      session.end();
    }
  });

  it("lists the same files as the API plus their .md5 files, and serves the same bytes", async () => {
    const session = await connect(access, { privateKey: access.privateKeyPem });
    try {
      const files = await sandbox.contentExport!.files();
      expect(await names(session.sftp)).toEqual(files.flatMap((f) => [f.name, `${f.name}.md5`]).sort());
      const file = files[0]!;
      const bytes = await readFile(session.sftp, `${access.folder}/${file.name}`);
      expect(createHash("sha256").update(bytes).digest("hex")).toBe(file.sha256);
      expect((await readFile(session.sftp, `${access.folder}/${file.name}.md5`)).toString()).toBe(
        `${file.md5}  ${file.name}\n`,
      );
      const stats = await call<{ size: number }>((done) => session.sftp.stat(`${access.folder}/${file.name}`, done));
      expect(stats.size).toBe(file.size);
    } finally {
      session.end();
    }
  });

  it("refuses a wrong password and an unknown user", async () => {
    await expect(connect(access, { password: "wrong" })).rejects.toThrow(/authentication/i);
    await expect(connect({ ...access, username: "someone" }, { password: access.password })).rejects.toThrow(
      /authentication/i,
    );
  });

  it("refuses removing, renaming, writing and making folders, counts them, and keeps the folder as it was", async () => {
    const session = await connect(access, { password: access.password });
    const { sftp } = session;
    try {
      const before = await names(sftp);
      const target = `${access.folder}/${before[0]!}`;
      const refused = async (run: (done: (error: Error | null | undefined) => void) => void) => {
        const error = (await call(run).catch((e: unknown) => e)) as { code?: number };
        expect(error.code).toBe(PERMISSION_DENIED);
      };
      await refused((done) => sftp.unlink(target, done));
      await refused((done) => sftp.rename(target, `${target}.done`, done));
      await refused((done) => sftp.open(`${access.folder}/new.txt`, "w", (e) => done(e)));
      await refused((done) => sftp.open(target, "r+", (e) => done(e)));
      await refused((done) => sftp.mkdir(`${access.folder}/processed`, done));
      await refused((done) => sftp.rmdir(access.folder, done));
      expect(sandbox.contentExport!.sftpStats).toMatchObject({ removes: 2, renames: 1, writes: 3 });
      expect(await names(sftp)).toEqual(before);
    } finally {
      session.end();
    }
  });

  it("a file being written grows between two stats and has no .md5 yet", async () => {
    const [file] = await sandbox.contentExport!.files();
    await sandbox.contentExport!.setFileFault(file!.id, "being-written");
    const session = await connect(access, { password: access.password });
    try {
      const path = `${access.folder}/${file!.name}`;
      const stat = () => call<{ size: number }>((done) => session.sftp.stat(path, done));
      const first = (await stat()).size;
      const second = (await stat()).size;
      expect(second).toBeGreaterThan(first);
      expect(second).toBeLessThan(file!.size);
      expect(await names(session.sftp)).not.toContain(`${file!.name}.md5`);
    } finally {
      session.end();
      await sandbox.contentExport!.setFileFault(file!.id, null);
    }
  });

  it("keeps a given host key and credentials across restarts", async () => {
    const again = await startSymphonySandbox({
      seed: "ce-sftp",
      org: { users: 6, messages: 30, largeAttachments: false, end: END, periodDays: 10 },
      contentExport: {
        sftp: { hostKeyPem: access.hostKeyPem, password: access.password, privateKeyPem: access.privateKeyPem },
      },
    });
    try {
      expect(again.contentExport!.sftp).toMatchObject({
        hostKeySha256: access.hostKeySha256,
        password: access.password,
        username: access.username,
      });
      const session = await connect(again.contentExport!.sftp!, { privateKey: access.privateKeyPem });
      session.end();
    } finally {
      await again.close();
    }
  });
});

describe("SSH keys for the SFTP site", () => {
  it("are always ones ssh2 itself can read, also the one in 256 its generator shortens", () => {
    for (let drawn = 0; drawn < 1500; drawn++) {
      const pair = generateSshKeyPair();
      expect(ssh2.utils.parseKey(pair.private)).not.toBeInstanceOf(Error);
      expect(ssh2.utils.parseKey(pair.public)).not.toBeInstanceOf(Error);
    }
  });
});
