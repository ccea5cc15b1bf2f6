import { createHash } from "node:crypto";
import { createServer, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import type { Readable } from "node:stream";
import ssh2 from "ssh2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSymphonySandbox, type SymphonySandbox } from "@/sandbox/symphony/index";
import { generateSshKeyPair } from "@/sandbox/symphony/sftp";
import { ExportDownloadError } from "./errors";
import { createSftpDelivery, probeSftpHostKey, type SftpOptions } from "./sftp";
import { HostKeyMismatchError, SftpError } from "./sftp-errors";
import { hostKeyOf } from "./ssh-host-key";
import { testSftp } from "./test-connection";

let sandbox: SymphonySandbox;
let exports: NonNullable<SymphonySandbox["contentExport"]>;
let access: NonNullable<NonNullable<SymphonySandbox["contentExport"]>["sftp"]>;

beforeAll(async () => {
  sandbox = await startSymphonySandbox({
    seed: "sftp",
    org: { users: 6, messages: 80, periodDays: 20, largeAttachments: false },
    contentExport: { sftp: true },
  });
  exports = sandbox.contentExport!;
  access = exports.sftp!;
});
afterAll(() => sandbox?.close());

const allowed: SftpOptions = { allowPrivateHosts: true, timeoutMs: 5_000 };
const withPassword = () => ({
  host: access.host,
  port: access.port,
  username: access.username,
  password: access.password,
  folder: access.folder,
  hostKeySha256: access.hostKeySha256,
  settleMs: 100,
});
const withKey = () => ({ ...withPassword(), password: undefined, privateKeyPem: access.privateKeyPem });
/** A fingerprint the sandbox's server does not have. */
const otherFingerprint = () => {
  const key = ssh2.utils.parseKey(generateSshKeyPair().public);
  if (key instanceof Error) throw key;
  return hostKeyOf(key.getPublicSSH()).fingerprint;
};

// SFTP gives modification times in whole seconds: files uploaded within one second are ordered by name.
const uploadSecond = (file: { uploadTime: number }) => Math.floor(file.uploadTime / 1000);
const filesByUpload = async () =>
  (await exports.files()).sort((a, b) => uploadSecond(a) - uploadSecond(b) || a.name.localeCompare(b.name));

async function sha256Of(stream: Readable): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of stream as AsyncIterable<Buffer>) hash.update(chunk);
  return hash.digest("hex");
}

async function failureOf(promise: Promise<unknown>): Promise<SftpError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SftpError);
  return error as SftpError;
}

describe("SFTP delivery against the Symphony sandbox", () => {
  it("reads the host key's fingerprint without signing in", async () => {
    const key = await probeSftpHostKey({ host: access.host, port: access.port }, allowed);
    expect(key).toEqual({ fingerprint: access.hostKeySha256, algorithm: "ssh-ed25519" });

    const report = await testSftp({ ...withPassword(), hostKeySha256: null }, allowed);
    expect(report).toEqual({
      ok: true,
      fingerprint: access.hostKeySha256,
      algorithm: "ssh-ed25519",
      confirmed: false,
      files: [],
    });
  });

  it("refuses to sign in before the host key is confirmed", async () => {
    const delivery = createSftpDelivery({ ...withPassword(), hostKeySha256: null }, allowed);
    const error = await failureOf(delivery.listReady());
    await delivery.close();
    expect(error.code).toBe("host_key_unconfirmed");
  });

  it("refuses a server whose host key differs from the pinned one", async () => {
    const pinned = otherFingerprint();
    const delivery = createSftpDelivery({ ...withPassword(), hostKeySha256: pinned }, allowed);
    const error = await failureOf(delivery.listReady());
    await delivery.close();
    expect(error).toBeInstanceOf(HostKeyMismatchError);
    expect(error.message).toContain(`changed from ${pinned} to ${access.hostKeySha256}`);
    expect(error.message).toMatch(/treated as an attack .* until an admin confirms the new one/);
    expect(error.message).not.toContain(access.password);

    const report = await testSftp({ ...withPassword(), hostKeySha256: pinned }, allowed);
    expect(report).toMatchObject({ ok: false, presentedFingerprint: access.hostKeySha256 });
  });

  it("lists the folder's files with their .md5, oldest first, signing in with a password", async () => {
    const expected = await filesByUpload();
    const delivery = createSftpDelivery(withPassword(), allowed);
    try {
      const { ready, stillWriting } = await delivery.listReady();
      expect(stillWriting).toEqual([]);
      expect(ready.map((file) => file.name)).toEqual(expected.map((file) => file.name));
      const first = expected[0]!;
      expect(ready[0]).toEqual({
        sourceId: `${access.folder}/${first.name}`,
        name: first.name,
        size: first.size,
        integrityHash: null,
        md5: first.md5,
        uploadTime: new Date(Math.floor(first.uploadTime / 1000) * 1000),
        format: null,
        jobType: "SCHEDULED",
        periodStart: new Date(first.period.start),
        periodEnd: new Date(first.period.end),
        generatedAt: expect.any(Date) as unknown,
        encryptionKeyId: null,
        encrypted: true,
      });
      expect(ready.every((file, i) => file.md5 === expected[i]!.md5)).toBe(true);

      const last = expected.at(-1)!;
      const { ready: later } = await delivery.listReady({ uploadedAfter: new Date(last.uploadTime) });
      expect(later.map((file) => file.name)).toEqual([last.name]);
    } finally {
      await delivery.close();
    }
  });

  it("signs in with a private key and streams a file's bytes", async () => {
    const file = (await filesByUpload())[0]!;
    const delivery = createSftpDelivery(withKey(), allowed);
    try {
      const listed = (await delivery.listNewest(50)).find((entry) => entry.name === file.name)!;
      expect(await sha256Of(await delivery.open(listed))).toBe(file.sha256);
    } finally {
      await delivery.close();
    }
  });

  it("fails a download or a listing the server stops answering, without holding the run", async () => {
    const file = (await filesByUpload())[0]!;
    const delivery = createSftpDelivery(withKey(), { ...allowed, readIdleMs: 1_000 });
    exports.setExportFaults({ sftpStallReads: true });
    try {
      const listed = (await delivery.listNewest(50)).find((entry) => entry.name === file.name)!;
      const error = await sha256Of(await delivery.open(listed)).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ExportDownloadError);
      expect((error as Error).message).toBe(
        `the download failed: Could not read ${file.name}: the SFTP server sent nothing for 1 s.; nothing was imported from it and it is downloaded again next run`,
      );
      // Listing reads each file's .md5, which is left unanswered too.
      const listing = await failureOf(delivery.listReady());
      expect(listing.message).toMatch(/^Could not read .*\.md5: the SFTP server sent nothing for 1 s\.$/);
      // The same connection serves the next download once the server answers again.
      exports.setExportFaults({ sftpStallReads: false });
      expect(await sha256Of(await delivery.open(listed))).toBe(file.sha256);
    } finally {
      exports.setExportFaults({ sftpStallReads: false });
      await delivery.close();
    }
  });

  it("leaves a file whose size changes between two looks for later", async () => {
    const file = (await filesByUpload()).at(-2)!;
    await exports.setFileFault(file.id, "being-written");
    const delivery = createSftpDelivery(withPassword(), allowed);
    try {
      const { ready, stillWriting } = await delivery.listReady();
      expect(stillWriting).toEqual([file.name]);
      expect(ready.map((entry) => entry.name)).not.toContain(file.name);
    } finally {
      await exports.setFileFault(file.id, null);
      await delivery.close();
    }
  });

  it("says in plain words that the sign-in was refused, without the password", async () => {
    const wrong = "not-the-password-42";
    const delivery = createSftpDelivery({ ...withPassword(), password: wrong }, allowed);
    const error = await failureOf(delivery.listReady());
    await delivery.close();
    expect(error.code).toBe("auth_rejected");
    expect(error.message).toBe(
      `The SFTP server ${access.host}:${access.port} refused the sign-in of user "${access.username}" with the password. Check the user name and the password.`,
    );
    expect(error.message).not.toContain(wrong);

    const report = await testSftp({ ...withKey(), username: "someone-else" }, allowed);
    expect(report).toEqual({
      ok: false,
      reason: expect.stringMatching(/refused the sign-in of user "someone-else" with the private key/) as unknown,
    });
  });

  it("shows the newest files once the host key is confirmed", async () => {
    const report = await testSftp(withKey(), allowed);
    const newest = (await filesByUpload()).slice(-5).reverse();
    expect(report).toMatchObject({ ok: true, confirmed: true, fingerprint: access.hostKeySha256 });
    expect(report.ok && report.files.map((file) => file.name)).toEqual(newest.map((file) => file.name));
  });

  it("says when the remote folder does not exist", async () => {
    const report = await testSftp({ ...withPassword(), folder: "/nowhere" }, allowed);
    expect(report).toEqual({
      ok: false,
      reason: "The remote folder /nowhere does not exist on the SFTP server. Check the folder.",
    });
  });

  it("never removed, renamed or wrote anything on the server", () => {
    expect(exports.sftpStats).toMatchObject({ removes: 0, renames: 0, writes: 0 });
    expect(exports.sftpStats.opens).toBeGreaterThan(0);
  });
});

describe("SFTP connection failures", () => {
  it("refuses a private address unless private hosts are allowed", async () => {
    const error = await failureOf(probeSftpHostKey({ host: "127.0.0.1", port: 22 }, { allowPrivateHosts: false }));
    expect(error.code).toBe("blocked_host");
    const delivery = createSftpDelivery({ ...withPassword(), host: "169.254.169.254" }, { allowPrivateHosts: false });
    expect((await failureOf(delivery.listReady())).code).toBe("blocked_host");
    await delivery.close();
  });

  it("refuses link-local and cloud metadata addresses even while private hosts are allowed", async () => {
    for (const host of ["169.254.169.254", "169.254.1.1"]) {
      const error = await failureOf(probeSftpHostKey({ host, port: 22 }, allowed));
      expect(error.code).toBe("blocked_host");
      expect(error.message).toMatch(/link-local and cloud metadata addresses stay refused/);
    }
  });

  it("says the connection was refused", async () => {
    const port = await closedPort();
    const error = await failureOf(probeSftpHostKey({ host: "127.0.0.1", port }, allowed));
    expect(error.code).toBe("connection_refused");
    expect(error.message).toBe(`The SFTP server 127.0.0.1:${port} refused the connection: check the host and port.`);
  });

  it("gives up on a server that never answers", async () => {
    const silent = await silentServer();
    try {
      const error = await failureOf(
        probeSftpHostKey({ host: "127.0.0.1", port: silent.port }, { ...allowed, timeoutMs: 300 }),
      );
      expect(error.code).toBe("timeout");
    } finally {
      await silent.close();
    }
  });
});

describe("what reaches a server whose host key is not trusted", () => {
  it("sends no user name, password or key on a probe, nor to a server with another key", async () => {
    const server = await refusingSshServer();
    const settings = {
      host: "127.0.0.1",
      port: server.port,
      username: "archiver",
      password: "correct-horse",
      folder: "/",
      settleMs: 0,
    };
    try {
      expect(await probeSftpHostKey(settings, allowed)).toEqual({
        fingerprint: server.fingerprint,
        algorithm: "ssh-ed25519",
      });
      const mismatched = createSftpDelivery({ ...settings, hostKeySha256: otherFingerprint() }, allowed);
      expect(await failureOf(mismatched.listReady())).toBeInstanceOf(HostKeyMismatchError);
      await mismatched.close();
      expect(server.attempts).toEqual([]);

      // The same server with its key pinned is asked to authenticate.
      const pinned = createSftpDelivery({ ...settings, hostKeySha256: server.fingerprint }, allowed);
      expect((await failureOf(pinned.listReady())).code).toBe("auth_rejected");
      await pinned.close();
      expect(server.attempts).toEqual([{ method: "password", username: "archiver" }]);
    } finally {
      await server.close();
    }
  });
});

/** An SSH server that records and refuses every authentication attempt. */
async function refusingSshServer() {
  const hostKey = generateSshKeyPair();
  const parsed = ssh2.utils.parseKey(hostKey.public);
  if (parsed instanceof Error) throw parsed;
  const attempts: { method: string; username: string }[] = [];
  const server = new ssh2.Server({ hostKeys: [hostKey.private] }, (client) => {
    client.on("authentication", (ctx) => {
      attempts.push({ method: ctx.method, username: ctx.username });
      ctx.reject(["password", "publickey"]);
    });
    client.on("error", () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    fingerprint: hostKeyOf(parsed.getPublicSSH()).fingerprint,
    attempts,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Accepts connections and never says a word (no SSH banner). */
async function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
