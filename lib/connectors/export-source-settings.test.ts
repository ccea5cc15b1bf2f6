import { generateKeyPairSync } from "node:crypto";
import { generateKey } from "openpgp";
import ssh2 from "ssh2";
import { beforeAll, describe, expect, it } from "vitest";
import { generateSshKeyPair } from "@/sandbox/symphony/sftp";
import {
  parseSourceStep,
  PGP_KEY_ERRORS,
  SSH_KEY_ERRORS,
  type SftpSource,
  type SourceStepInput,
} from "./export-source-settings";

const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
const rsaPem = rsa.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
const ssh = generateSshKeyPair();
const lockedSsh = generateSshKeyPair({ passphrase: "secret words", cipher: "aes256-ctr", rounds: 16 });
const FINGERPRINT = `SHA256:${"A".repeat(40)}b+/`;

let pgp: { privateKey: string; publicKey: string; passphrase: string };
beforeAll(async () => {
  const passphrase = "correct horse battery staple";
  const { privateKey, publicKey } = await generateKey({
    type: "ecc",
    curve: "curve25519Legacy",
    userIDs: [{ name: "Export", email: "export@bank.example" }],
    passphrase,
    format: "armored",
  });
  pgp = { privateKey, publicKey, passphrase };
});

const filesApi: SourceStepInput = {
  sourceKind: "CONTENT_EXPORT",
  exportDelivery: "FILES_API",
  podUrl: "https://acme.symphony.com/pod/",
  botUsername: " export-reader ",
  privateKeyPem: rsaPem,
  // Fields of the other sources the form also sends: not read for this one.
  agentUrl: "not a url",
  streamTypes: [],
  sftpPort: "not a port",
  startDate: "2026-01-31",
};

const sftp: SourceStepInput = {
  sourceKind: "CONTENT_EXPORT",
  exportDelivery: "SFTP",
  sftpHost: " SFTP.Bank.Example ",
  sftpPort: "2222",
  sftpUsername: " symphony ",
  sftpAuth: "PASSWORD",
  sftpPassword: "  pass word  ",
  sftpFolder: "/exports/daily/",
  podUrl: "not a url",
};

async function errorsOf(input: SourceStepInput) {
  const result = await parseSourceStep(input);
  if (result.ok) throw new Error("expected the form to be refused");
  return result.errors;
}

async function sftpOf(input: SourceStepInput): Promise<SftpSource> {
  const result = await parseSourceStep(input);
  if (!result.ok) throw new Error(`refused: ${JSON.stringify(result.errors)}`);
  if (result.settings.source !== "SFTP") throw new Error("not SFTP");
  return result.settings;
}

describe("parseSourceStep", () => {
  it("asks for a source kind and, for Content Export, a delivery", async () => {
    expect(Object.keys(await errorsOf({}))).toEqual(["sourceKind"]);
    expect(Object.keys(await errorsOf({ sourceKind: "CONTENT_EXPORT", exportDelivery: "EMAIL" }))).toEqual([
      "exportDelivery",
    ]);
  });

  it("reads the Files API fields only, normalising the pod URL and the user name", async () => {
    const result = await parseSourceStep(filesApi);
    expect(result).toMatchObject({
      ok: true,
      settings: {
        source: "FILES_API",
        podUrl: "https://acme.symphony.com",
        botUsername: "export-reader",
        privateKeyPem: rsaPem.trim(),
      },
    });
    if (result.ok) expect(result.settings.startDate?.toISOString()).toBe("2026-01-31T00:00:00.000Z");
  });

  it("keeps the RSA key on file when the key field is empty", async () => {
    const result = await parseSourceStep({ ...filesApi, privateKeyPem: "" });
    expect(result.ok && result.settings.source === "FILES_API" && result.settings.privateKeyPem).toBeUndefined();
  });

  it("names every wrong Files API field", async () => {
    const errors = await errorsOf({ ...filesApi, podUrl: "ftp://pod", botUsername: " ", privateKeyPem: "junk" });
    expect(Object.keys(errors).sort()).toEqual(["botUsername", "podUrl", "privateKeyPem"]);
  });

  it("reads the SFTP fields: host lower-cased, port, user trimmed, password exactly as typed, folder normalised", async () => {
    expect(await sftpOf(sftp)).toMatchObject({
      source: "SFTP",
      sftpHost: "sftp.bank.example",
      sftpPort: 2222,
      sftpUsername: "symphony",
      sftpCredential: { password: "  pass word  " },
      sftpFolder: "/exports/daily",
    });
    expect((await sftpOf({ ...sftp, sftpPort: "", sftpFolder: "/" })).sftpPort).toBe(22);
    expect((await sftpOf({ ...sftp, sftpFolder: "//exports//in/" })).sftpFolder).toBe("/exports/in");
  });

  it.each([
    ["0", "from 1 to 65535"],
    ["65536", "from 1 to 65535"],
    ["22.5", "whole number"],
    ["ssh", "whole number"],
    ["-1", "whole number"],
  ])("refuses the port %j", async (port, message) => {
    expect((await errorsOf({ ...sftp, sftpPort: port })).sftpPort).toContain(message);
  });

  it.each([
    ["exports", "absolute path"],
    ["~/exports", "absolute path"],
    ["/exports/../etc", "may not contain .."],
    ["/exports\u0000x", "control characters"],
    ["  ", "Enter the remote folder"],
  ])("refuses the folder %j", async (folder, message) => {
    expect((await errorsOf({ ...sftp, sftpFolder: folder })).sftpFolder).toContain(message);
  });

  it.each(["sftp://sftp.bank.example", "user@sftp.bank.example", "sftp.bank.example:22", "sftp.bank.example/x", ""])(
    "refuses the host %j",
    async (host) => {
      expect(await errorsOf({ ...sftp, sftpHost: host })).toHaveProperty("sftpHost");
    },
  );

  it("asks for nothing secret while only the server's host key is to be read", async () => {
    // The credential rule needs the saved connector (./source.ts): an empty field is not an error here.
    expect((await sftpOf({ ...sftp, sftpPassword: "" })).sftpCredential).toBeUndefined();
  });

  it("reads the SSH private key when the admin signs in with a key, and ignores the other credential field", async () => {
    const settings = await sftpOf({ ...sftp, sftpAuth: "KEY", sftpPrivateKeyPem: ssh.private, sftpPassword: "x" });
    expect(settings.sftpCredential).toEqual({ privateKeyPem: ssh.private.trim() });
    // The key field of the credential not chosen is not read (it may hold anything).
    expect((await sftpOf({ ...sftp, sftpPrivateKeyPem: "junk" })).sftpCredential).toEqual({
      password: "  pass word  ",
    });
  });

  it("rewrites a PKCS#8 RSA key as PKCS#1, which the SSH library reads", async () => {
    const settings = await sftpOf({ ...sftp, sftpAuth: "KEY", sftpPrivateKeyPem: rsaPem });
    const pem = (settings.sftpCredential as { privateKeyPem: string }).privateKeyPem;
    expect(pem).toContain("-----BEGIN RSA PRIVATE KEY-----");
    expect(ssh2.utils.parseKey(pem)).not.toBeInstanceOf(Error);
  });

  it.each([
    ["a public key", ssh.public, SSH_KEY_ERRORS.publicKey],
    ["a PEM public key", rsa.publicKey.export({ type: "spki", format: "pem" }).toString(), SSH_KEY_ERRORS.publicKey],
    ["a key locked with a passphrase", lockedSsh.private, SSH_KEY_ERRORS.encrypted],
    [
      "not a key",
      "-----BEGIN OPENSSH PRIVATE KEY-----\nbm90IGEga2V5\n-----END OPENSSH PRIVATE KEY-----",
      SSH_KEY_ERRORS.notAKey,
    ],
    ["too large", "x".repeat(20_000), SSH_KEY_ERRORS.tooLarge],
  ])("refuses %s as the SSH private key, without echoing it", async (_, key, message) => {
    const errors = await errorsOf({ ...sftp, sftpAuth: "KEY", sftpPrivateKeyPem: key });
    expect(errors.sftpPrivateKeyPem).toBe(message);
    expect(JSON.stringify(errors)).not.toContain(key.slice(40, 70));
  });

  it("names a wrong SSH key together with the other wrong fields", async () => {
    const errors = await errorsOf({ ...sftp, sftpPort: "0", sftpAuth: "KEY", sftpPrivateKeyPem: ssh.public });
    expect(Object.keys(errors).sort()).toEqual(["sftpPort", "sftpPrivateKeyPem"]);
  });

  it("carries the fingerprint a test showed, normalised, with the admin's tick and the server it was read from", async () => {
    const bare = FINGERPRINT.slice("SHA256:".length);
    expect(
      (await sftpOf({ ...sftp, sftpHostKeySha256: `${bare}=`, sftpHostKeyFor: "sftp.bank.example:2222" })).sftpHostKey,
    ).toEqual({ fingerprint: FINGERPRINT, confirmed: false, readFrom: "sftp.bank.example:2222" });
    expect((await sftpOf({ ...sftp, sftpHostKeySha256: FINGERPRINT, sftpHostKeyConfirmed: true })).sftpHostKey).toEqual(
      { fingerprint: FINGERPRINT, confirmed: true, readFrom: undefined },
    );
    expect(await errorsOf({ ...sftp, sftpHostKeySha256: "MD5:aa:bb" })).toHaveProperty("sftpHostKeyConfirmed");
  });

  describe("the PGP decryption key", () => {
    it("is read and unlocked with its passphrase; its key ids come back", async () => {
      const result = await parseSourceStep({
        ...filesApi,
        pgpPrivateKey: pgp.privateKey,
        pgpPassphrase: pgp.passphrase,
      });
      if (!result.ok || result.settings.source !== "FILES_API") throw new Error("refused");
      const key = result.settings.pgpKey;
      expect(key).toMatchObject({ armoredKey: pgp.privateKey.trim(), passphrase: pgp.passphrase });
      expect(key?.keyIds).toHaveLength(2);
      for (const id of key?.keyIds ?? []) expect(id).toMatch(/^[0-9a-f]{16}$/);
    });

    it("is optional: none typed keeps the one on file", async () => {
      const result = await parseSourceStep(sftp);
      expect(result.ok && result.settings.source === "SFTP" && result.settings.pgpKey).toBeUndefined();
    });

    it("refuses a public key", async () => {
      const errors = await errorsOf({ ...filesApi, pgpPrivateKey: pgp.publicKey });
      expect(errors.pgpPrivateKey).toMatch(/^The PGP decryption key is a public key/);
    });

    it("refuses text that is no PGP key", async () => {
      const errors = await errorsOf({ ...sftp, pgpPrivateKey: "hello" });
      expect(errors.pgpPrivateKey).toMatch(/not a readable armored private key/);
    });

    it("names the passphrase when it is wrong or missing, and never repeats it", async () => {
      const wrong = await errorsOf({ ...filesApi, pgpPrivateKey: pgp.privateKey, pgpPassphrase: "guess-1234" });
      expect(wrong).toEqual({ pgpPassphrase: "The passphrase does not unlock the PGP decryption key." });
      const missing = await errorsOf({ ...filesApi, pgpPrivateKey: pgp.privateKey });
      expect(missing.pgpPassphrase).toMatch(/protected by a passphrase/);
    });

    it("refuses a passphrase without a key", async () => {
      expect(await errorsOf({ ...filesApi, pgpPassphrase: "x" })).toEqual({
        pgpPrivateKey: PGP_KEY_ERRORS.passphraseWithoutKey,
      });
    });

    it("is not read for the service account's conversations", async () => {
      const result = await parseSourceStep({
        sourceKind: "CONVERSATIONS",
        podUrl: "https://acme.symphony.com",
        agentUrl: "https://agent.acme.example",
        keyManagerUrl: "https://km.acme.example",
        botUsername: "bot",
        privateKeyPem: "",
        streamTypes: ["IM"],
        pgpPrivateKey: "junk",
      });
      expect(result).toMatchObject({ ok: true, settings: { source: "CONVERSATIONS", streamTypes: ["IM"] } });
    });
  });
});
