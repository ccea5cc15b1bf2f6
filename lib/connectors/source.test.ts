import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { db } from "@/lib/db";
import { botKeyContext, decryptSecret, pgpKeyContext, sftpCredentialContext } from "@/lib/secrets";
import { startSymphonySandbox, type SymphonySandbox } from "@/sandbox/symphony";
import type { SourceStepInput } from "./export-source-settings";
import { KEY_NEEDED_AGAIN } from "./source";
import { testSource, type SourceTestReport } from "./source-check";
import { acceptTerms, saveSource } from "./wizard";

const canRun = Boolean(process.env.DATABASE_URL);
const created: string[] = [];

async function draft(): Promise<string> {
  const result = await acceptTerms(undefined, "test@bank.example");
  if (!result.ok) throw new Error("draft not created");
  created.push(result.connectorId);
  return result.connectorId;
}

afterAll(async () => {
  if (canRun) await db.connector.deleteMany({ where: { id: { in: created } } });
});

async function reportOf(connectorId: string, input: SourceStepInput): Promise<SourceTestReport> {
  const result = await testSource(connectorId, input);
  if (!result.ok) throw new Error(`refused: ${JSON.stringify(result.errors)}`);
  return result.report;
}

describe.skipIf(!canRun)("the stored bot key only signs in to the servers it was saved with", () => {
  let sandbox: SymphonySandbox;
  let connectorId: string;
  const rogueRequests: string[] = [];
  const rogue = createServer((request, response) => {
    rogueRequests.push(`${request.method} ${request.url}`);
    response.writeHead(200, { "content-type": "application/json" }).end('{"token":"x"}');
  });
  let rogueUrl: string;

  beforeAll(async () => {
    sandbox = await startSymphonySandbox({
      seed: "stored-key",
      org: { users: 4, messages: 8, largeAttachments: false },
    });
    await new Promise<void>((resolve) => rogue.listen(0, "127.0.0.1", resolve));
    rogueUrl = `http://127.0.0.1:${(rogue.address() as AddressInfo).port}`;
    connectorId = await draft();
    const saved = await saveSource(
      connectorId,
      { ...sandboxSettings(), privateKeyPem: sandbox.bot.privateKeyPem },
      "test",
    );
    expect(saved.ok).toBe(true);
  });
  afterAll(async () => {
    await new Promise((resolve) => rogue.close(resolve));
    await sandbox?.close();
  });

  const sandboxSettings = () => ({
    sourceKind: "CONVERSATIONS",
    podUrl: sandbox.podUrl,
    agentUrl: sandbox.agentUrl,
    keyManagerUrl: sandbox.keyManagerUrl,
    botUsername: sandbox.bot.username,
    privateKeyPem: "",
    streamTypes: ["IM"],
  });

  it("tests with the key on file when the URLs are the saved ones", async () => {
    const result = await testSource(connectorId, sandboxSettings());
    expect(result).toMatchObject({
      ok: true,
      report: { ok: true, message: expect.stringContaining("Connected as") as unknown },
    });
    // What the account can read of the chosen types (one-to-one chats): the bot is in none of them.
    const ims = sandbox.org.streams.filter((s) => s.type === "IM");
    const readable = ims.filter((s) => s.botIsMember).length;
    expect(result.ok && result.report.message).toContain(
      `The service account can read ${readable} of the pod's ${ims.length} conversations of the chosen types`,
    );
  });

  it.each(["podUrl", "agentUrl", "keyManagerUrl"] as const)(
    "asks for the key again, and sends nothing, when the %s changes",
    async (field) => {
      const changed = { ...sandboxSettings(), [field]: rogueUrl };
      expect(await testSource(connectorId, changed)).toEqual({
        ok: false,
        errors: { privateKeyPem: KEY_NEEDED_AGAIN },
      });
      expect(await saveSource(connectorId, changed, "test")).toEqual({
        ok: false,
        errors: { privateKeyPem: KEY_NEEDED_AGAIN },
      });
      expect(rogueRequests).toEqual([]);
      const row = await db.connector.findUniqueOrThrow({ where: { id: connectorId } });
      expect(row[field]).toBe(sandboxSettings()[field]);
    },
  );

  it("accepts the new URLs with the key typed again", async () => {
    const moved = { ...sandboxSettings(), podUrl: `${sandbox.podUrl}/`, privateKeyPem: sandbox.bot.privateKeyPem };
    expect(await saveSource(connectorId, moved, "test")).toEqual({ ok: true, connectorId });
    const row = await db.connector.findUniqueOrThrow({ where: { id: connectorId } });
    expect(row.sourceKind).toBe("CONVERSATIONS");
  });
});

describe.skipIf(!canRun)("a Content Export source", () => {
  let sandbox: SymphonySandbox;
  const exported = () => sandbox.contentExport!;
  const sftpAccess = () => exported().sftp!;

  beforeAll(async () => {
    sandbox = await startSymphonySandbox({
      seed: "source-step",
      org: { users: 6, messages: 30, largeAttachments: false },
      contentExport: { sftp: true },
    });
  });
  afterAll(async () => {
    await sandbox?.close();
  });

  const filesApi = (): SourceStepInput => ({
    sourceKind: "CONTENT_EXPORT",
    exportDelivery: "FILES_API",
    podUrl: sandbox.podUrl,
    botUsername: sandbox.bot.username,
    privateKeyPem: sandbox.bot.privateKeyPem,
  });

  const sftp = (change: SourceStepInput = {}): SourceStepInput => ({
    sourceKind: "CONTENT_EXPORT",
    exportDelivery: "SFTP",
    sftpHost: sftpAccess().host,
    sftpPort: String(sftpAccess().port),
    sftpUsername: sftpAccess().username,
    sftpFolder: sftpAccess().folder,
    sftpAuth: "PASSWORD",
    sftpPassword: sftpAccess().password,
    ...change,
  });

  describe("through the File Management API", () => {
    it("lists the newest files and says the typed PGP key decrypts the newest encrypted one", async () => {
      const pgp = exported().pgp;
      const report = await reportOf(await draft(), {
        ...filesApi(),
        pgpPrivateKey: pgp.privateKeyArmored,
        pgpPassphrase: pgp.passphrase,
      });
      expect(report).toMatchObject({ ok: true, tone: "success" });
      const newest = (await exported().files()).sort((a, b) => b.uploadTime - a.uploadTime);
      expect(report.files?.map((file) => file.name)).toEqual(newest.slice(0, 5).map((file) => file.name));
      expect(report.files?.[0]).toMatchObject({ format: "ACTIANCE", size: newest[0]?.size, encrypted: true });
      expect(report.notes).toEqual([
        {
          tone: "success",
          text: expect.stringMatching(
            new RegExp(
              `encrypted to ${pgp.keyId.toUpperCase()}; your key has .*${pgp.keyId.toUpperCase()}.*: it can decrypt it`,
            ),
          ) as unknown,
        },
      ]);
    });

    it("says when the key is not the one the files are encrypted to", async () => {
      const { otherPgp, pgp } = exported();
      const report = await reportOf(await draft(), {
        ...filesApi(),
        pgpPrivateKey: otherPgp.privateKeyArmored,
        pgpPassphrase: otherPgp.passphrase,
      });
      expect(report.notes?.[0]?.tone).toBe("error");
      expect(report.notes?.[0]?.text).toContain(`is encrypted to ${pgp.keyId.toUpperCase()}, but your key has`);
      expect(report.notes?.[0]?.text).toContain("it cannot decrypt it");
    });

    it("saves the source with the PGP key stored encrypted as {armoredKey, passphrase} and its key ids", async () => {
      const id = await draft();
      const pgp = exported().pgp;
      const input = { ...filesApi(), pgpPrivateKey: pgp.privateKeyArmored, pgpPassphrase: pgp.passphrase };
      expect(await saveSource(id, input, "ann@bank.example")).toEqual({ ok: true, connectorId: id });
      const row = await db.connector.findUniqueOrThrow({ where: { id } });
      expect(row).toMatchObject({
        sourceKind: "CONTENT_EXPORT",
        exportDelivery: "FILES_API",
        podUrl: sandbox.podUrl,
        agentUrl: null,
        keyManagerUrl: null,
      });
      expect(decryptSecret(row.privateKeyEncrypted!, botKeyContext(id))).toBe(sandbox.bot.privateKeyPem.trim());
      expect(JSON.parse(decryptSecret(row.pgpKeyEncrypted!, pgpKeyContext(id)))).toEqual({
        armoredKey: pgp.privateKeyArmored.trim(),
        passphrase: pgp.passphrase,
      });
      expect(row.pgpKeyIds).toContain(pgp.keyId);

      // Empty secret fields: the key and the PGP key on file are used, and kept.
      const again = { ...filesApi(), privateKeyPem: "" };
      const report = await reportOf(id, again);
      expect(report.notes?.[0]).toMatchObject({ tone: "success" });
      expect(await saveSource(id, again, "ann@bank.example")).toEqual({ ok: true, connectorId: id });
      const kept = await db.connector.findUniqueOrThrow({ where: { id } });
      expect(kept.privateKeyEncrypted).toBe(row.privateKeyEncrypted);
      expect(kept.pgpKeyEncrypted).toBe(row.pgpKeyEncrypted);

      expect(await saveSource(id, { ...again, podUrl: "https://other-pod.example" }, "ann@bank.example")).toEqual({
        ok: false,
        errors: { privateKeyPem: KEY_NEEDED_AGAIN },
      });
    });

    it("names the Content Export Reader role when the pod refuses the files token", async () => {
      const noRole = await startSymphonySandbox({
        seed: "no-reader-role",
        org: { users: 3, messages: 4, largeAttachments: false },
        contentExport: { contentExportReader: false },
      });
      try {
        const report = await reportOf(await draft(), {
          ...filesApi(),
          podUrl: noRole.podUrl,
          botUsername: noRole.bot.username,
          privateKeyPem: noRole.bot.privateKeyPem,
        });
        expect(report).toMatchObject({ ok: false, tone: "error" });
        expect(report.message).toContain("Content Export Reader role");
      } finally {
        await noRole.close();
      }
    });
  });

  describe("through SFTP", () => {
    it("first reads only the host key; saving needs it confirmed; then signs in with the credential on file", async () => {
      const id = await draft();
      const opensBefore = exported().sftpStats.opens;
      const probe = await reportOf(id, sftp({ sftpPassword: "" }));
      expect(probe).toMatchObject({
        ok: false,
        tone: "info",
        hostKey: { fingerprint: sftpAccess().hostKeySha256, readFrom: `${sftpAccess().host}:${sftpAccess().port}` },
      });
      expect(exported().sftpStats.opens).toBe(opensBefore);

      const shown = { sftpHostKeySha256: probe.hostKey!.fingerprint, sftpHostKeyFor: probe.hostKey!.readFrom };
      expect(await saveSource(id, sftp(shown), "ann@bank.example")).toMatchObject({
        ok: false,
        errors: { sftpHostKeyConfirmed: expect.stringContaining("Tick the box") as unknown },
      });
      expect(await saveSource(id, sftp({ ...shown, sftpHostKeyConfirmed: true }), "ann@bank.example")).toEqual({
        ok: true,
        connectorId: id,
      });
      const row = await db.connector.findUniqueOrThrow({ where: { id } });
      expect(row).toMatchObject({
        sourceKind: "CONTENT_EXPORT",
        exportDelivery: "SFTP",
        sftpHost: sftpAccess().host,
        sftpPort: sftpAccess().port,
        sftpFolder: "/exports",
        sftpHostKeySha256: sftpAccess().hostKeySha256,
        sftpHostKeyConfirmedBy: "ann@bank.example",
      });
      expect(JSON.parse(decryptSecret(row.sftpCredentialEncrypted!, sftpCredentialContext(id)))).toEqual({
        password: sftpAccess().password,
      });
      const events = await db.auditEvent.findMany({
        where: { connectorId: id, action: "connector.sftp_host_key_confirmed" },
      });
      expect(events.map((event) => event.detail)).toEqual([
        expect.objectContaining({ fingerprint: sftpAccess().hostKeySha256, previous: null }),
      ]);

      // The password on file, towards the pinned key: the files are listed and their PGP recipient read from the bytes.
      const report = await reportOf(id, sftp({ sftpPassword: "" }));
      expect(report).toMatchObject({ ok: true, tone: "success" });
      expect(report.files?.length).toBeGreaterThan(0);
      expect(report.notes?.[0]).toMatchObject({
        tone: "error",
        text: expect.stringContaining(
          `is encrypted to ${exported().pgp.keyId.toUpperCase()}, and no PGP decryption key is on file`,
        ) as unknown,
      });
      expect(exported().sftpStats).toMatchObject({ removes: 0, renames: 0, writes: 0 });

      // Another host: the password on file is not sent there.
      expect(await testSource(id, sftp({ sftpPassword: "", sftpHost: "localhost" }))).toMatchObject({ ok: true });
      expect(await saveSource(id, sftp({ sftpPassword: "", sftpHost: "localhost" }), "ann@bank.example")).toMatchObject(
        {
          ok: false,
          errors: {
            sftpPassword: expect.stringContaining("enter the SSH private key or the password again") as unknown,
          },
        },
      );
    });

    it("refuses a server whose key differs from the confirmed one and shows the new key, changing nothing", async () => {
      const id = await draft();
      const pinned = `SHA256:${"Z".repeat(43)}`;
      await db.connector.update({
        where: { id },
        data: { sftpHost: sftpAccess().host, sftpPort: sftpAccess().port, sftpHostKeySha256: pinned },
      });
      const report = await reportOf(id, sftp());
      expect(report).toMatchObject({
        ok: false,
        tone: "error",
        hostKey: { fingerprint: sftpAccess().hostKeySha256, replaces: pinned },
      });
      expect(report.message).toContain("presented a different host key");
      // Saving without ticking the new key keeps the old one: never re-pinned silently.
      expect(await saveSource(id, sftp({ sftpHostKeySha256: sftpAccess().hostKeySha256 }), "ann@bank.example")).toEqual(
        { ok: true, connectorId: id },
      );
      expect((await db.connector.findUniqueOrThrow({ where: { id } })).sftpHostKeySha256).toBe(pinned);
    });

    it("signs in with an SSH private key", async () => {
      const id = await draft();
      const report = await reportOf(
        id,
        sftp({
          sftpAuth: "KEY",
          sftpPassword: "",
          sftpPrivateKeyPem: sftpAccess().privateKeyPem,
          sftpHostKeySha256: sftpAccess().hostKeySha256,
          sftpHostKeyConfirmed: true,
        }),
      );
      expect(report).toMatchObject({ ok: true, tone: "success" });
    });
  });
});
