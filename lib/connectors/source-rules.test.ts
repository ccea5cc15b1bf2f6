import { describe, expect, it } from "vitest";
import type { SftpSource, SourceStep } from "./export-source-settings";
import { asEdited, withPendingSource } from "./pending-edit";
import {
  HOST_KEY_ERRORS,
  hostKeyToTrust,
  KEY_NEEDED_AGAIN,
  keyForServers,
  SFTP_CREDENTIAL_NEEDED_AGAIN,
  sftpCredentialFor,
  sourceUpdate,
  type SavedSource,
} from "./source";

const PINNED = `SHA256:${"P".repeat(43)}`;
const OTHER = `SHA256:${"O".repeat(43)}`;

const saved: SavedSource = {
  id: "00000000-0000-4000-8000-000000000001",
  podUrl: "https://acme.symphony.com",
  agentUrl: "https://agent.acme.example",
  keyManagerUrl: "https://km.acme.example",
  privateKeyEncrypted: "v2:stored-bot-key",
  sftpHost: "sftp.bank.example",
  sftpPort: 22,
  sftpUsername: "symphony",
  sftpCredentialEncrypted: "v2:stored-credential",
  sftpHostKeySha256: PINNED,
  pgpKeyEncrypted: null,
  pgpKeyIds: [],
};

const sftp: SftpSource = {
  source: "SFTP",
  sftpHost: "sftp.bank.example",
  sftpPort: 22,
  sftpUsername: "symphony",
  sftpFolder: "/exports",
  sftpAuth: "PASSWORD",
};

describe("keyForServers", () => {
  it("lets the Files API use the key on file towards the same pod, whatever agent or key manager was saved", () => {
    expect(keyForServers({ ...saved, agentUrl: null, keyManagerUrl: null }, { podUrl: saved.podUrl! })).toEqual({
      ok: true,
      stored: { connectorId: saved.id, ciphertext: "v2:stored-bot-key" },
    });
  });

  it("asks for the key again when the pod changes", () => {
    expect(keyForServers(saved, { podUrl: "https://evil.example" })).toEqual({
      ok: false,
      errors: { privateKeyPem: KEY_NEEDED_AGAIN },
    });
  });

  it("compares every URL for the service account's conversations: a key saved for the pod only does not go to an agent", () => {
    const conversations = { podUrl: saved.podUrl!, agentUrl: saved.agentUrl!, keyManagerUrl: saved.keyManagerUrl! };
    expect(keyForServers(saved, conversations)).toMatchObject({ ok: true });
    expect(keyForServers({ ...saved, agentUrl: null, keyManagerUrl: null }, conversations)).toEqual({
      ok: false,
      errors: { privateKeyPem: KEY_NEEDED_AGAIN },
    });
  });
});

describe("sftpCredentialFor", () => {
  it("uses what was typed", () => {
    expect(sftpCredentialFor(saved, { ...sftp, sftpCredential: { password: "typed" } })).toEqual({
      ok: true,
      credential: { password: "typed" },
    });
  });

  it("keeps the credential on file for the same host, port and user", () => {
    expect(sftpCredentialFor(saved, sftp)).toEqual({
      ok: true,
      stored: { connectorId: saved.id, ciphertext: "v2:stored-credential" },
    });
  });

  it.each([
    ["host", { sftpHost: "sftp.evil.example" }],
    ["port", { sftpPort: 2222 }],
    ["user name", { sftpUsername: "root" }],
  ])("asks for it again when the %s changes, in the field of the chosen method", (_, change) => {
    expect(sftpCredentialFor(saved, { ...sftp, ...change })).toEqual({
      ok: false,
      errors: { sftpPassword: SFTP_CREDENTIAL_NEEDED_AGAIN },
    });
    expect(sftpCredentialFor(saved, { ...sftp, ...change, sftpAuth: "KEY" })).toEqual({
      ok: false,
      errors: { sftpPrivateKeyPem: SFTP_CREDENTIAL_NEEDED_AGAIN },
    });
  });

  it("asks for one when none is on file", () => {
    expect(sftpCredentialFor({ ...saved, sftpCredentialEncrypted: null }, sftp)).toEqual({
      ok: false,
      errors: { sftpPassword: "Enter the password of the SFTP user symphony." },
    });
  });
});

describe("hostKeyToTrust", () => {
  const shown = (fingerprint: string, confirmed: boolean, readFrom = "sftp.bank.example:22") => ({
    ...sftp,
    sftpHostKey: { fingerprint, confirmed, readFrom },
  });

  it("knows nothing before the first test", () => {
    expect(hostKeyToTrust(null, sftp)).toEqual({ state: "unknown" });
  });

  it("trusts a fingerprint the admin ticked, as newly confirmed", () => {
    expect(hostKeyToTrust(null, shown(OTHER, true))).toEqual({ state: "confirmed", fingerprint: OTHER, newly: true });
  });

  it("does not trust a fingerprint shown but not ticked", () => {
    expect(hostKeyToTrust(null, shown(OTHER, false))).toEqual({ state: "unconfirmed", fingerprint: OTHER });
  });

  it("trusts the key on file for the same host and port", () => {
    expect(hostKeyToTrust(saved, sftp)).toEqual({ state: "confirmed", fingerprint: PINNED, newly: false });
    expect(hostKeyToTrust(saved, shown(PINNED, false))).toEqual({
      state: "confirmed",
      fingerprint: PINNED,
      newly: false,
    });
  });

  it("never re-pins silently: a different key shown but not ticked leaves the one on file", () => {
    expect(hostKeyToTrust(saved, shown(OTHER, false))).toEqual({
      state: "confirmed",
      fingerprint: PINNED,
      newly: false,
    });
    expect(hostKeyToTrust(saved, shown(OTHER, true))).toEqual({ state: "confirmed", fingerprint: OTHER, newly: true });
  });

  it("drops the key on file when the host or port changes", () => {
    expect(hostKeyToTrust(saved, { ...sftp, sftpPort: 2222 })).toEqual({ state: "unknown" });
    expect(hostKeyToTrust(saved, { ...sftp, sftpHost: "other.bank.example" })).toEqual({ state: "unknown" });
  });

  it("ignores a fingerprint read from another server than the one now in the form", () => {
    expect(hostKeyToTrust(null, shown(OTHER, true, "old.bank.example:22"))).toEqual({ state: "unknown" });
    expect(hostKeyToTrust(saved, shown(OTHER, true, "old.bank.example:22"))).toMatchObject({ fingerprint: PINNED });
  });
});

describe("sourceUpdate for SFTP", () => {
  it("refuses to save without a confirmed host key, naming why", () => {
    const fresh = { ...saved, sftpHostKeySha256: null };
    expect(sourceUpdate(fresh, sftp, "admin")).toEqual({
      ok: false,
      errors: { sftpHostKeyConfirmed: HOST_KEY_ERRORS.unknown },
    });
    expect(sourceUpdate(fresh, { ...sftp, sftpHostKey: { fingerprint: OTHER, confirmed: false } }, "admin")).toEqual({
      ok: false,
      errors: { sftpHostKeyConfirmed: HOST_KEY_ERRORS.unconfirmed },
    });
  });

  it("records who confirmed a new host key, with an audit event naming the fingerprint", () => {
    const result = sourceUpdate(saved, { ...sftp, sftpHostKey: { fingerprint: OTHER, confirmed: true } }, "ann@bank");
    if (!result.ok) throw new Error("refused");
    expect(result.update.data).toMatchObject({ sftpHostKeySha256: OTHER, sftpHostKeyConfirmedBy: "ann@bank" });
    expect(result.update.audit).toContainEqual({
      action: "connector.sftp_host_key_confirmed",
      detail: { host: "sftp.bank.example", port: 22, fingerprint: OTHER, previous: PINNED },
    });
  });

  it("leaves the host key and the credential on file alone when nothing new was given", () => {
    const result = sourceUpdate(saved, sftp, "ann@bank");
    if (!result.ok) throw new Error("refused");
    expect(result.update.data).not.toHaveProperty("sftpHostKeySha256");
    expect(result.update.data).not.toHaveProperty("sftpHostKeyConfirmedBy");
    expect(result.update.data).not.toHaveProperty("sftpCredentialEncrypted");
    expect(result.update.audit.map((event) => event.action)).toEqual(["connector.source_saved"]);
  });
});

// Edit of an active connector keeps what the Source step writes in Connector.pendingEdit, whose schema
// refuses a field it does not know: every kind of save must fit it.
describe("every Source step save of an active connector can wait for Save changes", () => {
  const row = {
    ...saved,
    sourceKind: "CONVERSATIONS",
    exportDelivery: "FILES_API",
    realtime: false,
    botUsername: "archive-bot",
    streamTypes: ["IM"],
    startDate: null,
    sftpFolder: "/old",
    sftpHostKeyConfirmedBy: "someone",
    pendingEdit: null,
  };
  const pgpKey = { armoredKey: "-----BEGIN PGP PRIVATE KEY BLOCK-----", passphrase: "p", keyIds: ["0123456789abcdef"] };
  const startDate = new Date("2026-01-01T00:00:00Z");
  const saves: Array<[string, SourceStep]> = [
    [
      "conversations, key typed",
      {
        source: "CONVERSATIONS",
        podUrl: "https://other.symphony.com",
        agentUrl: "https://agent.other.example",
        keyManagerUrl: undefined,
        botUsername: "bot",
        privateKeyPem: "-----BEGIN PRIVATE KEY-----",
        streamTypes: ["IM", "ROOM"],
        startDate,
      },
    ],
    [
      "Datahose, key on file",
      {
        source: "DATAHOSE",
        podUrl: saved.podUrl!,
        agentUrl: saved.agentUrl!,
        keyManagerUrl: saved.keyManagerUrl!,
        botUsername: "archive-bot",
        streamTypes: ["IM"],
        startDate: undefined,
      },
    ],
    [
      "Files API with real time and a PGP key typed",
      {
        source: "FILES_API",
        podUrl: "https://other.symphony.com",
        realtime: { agentUrl: "https://agent.other.example" },
        botUsername: "bot",
        privateKeyPem: "-----BEGIN PRIVATE KEY-----",
        startDate,
        pgpKey,
      },
    ],
    [
      "SFTP with a password typed and a new host key",
      { ...sftp, sftpCredential: { password: "pw" }, sftpHostKey: { fingerprint: OTHER, confirmed: true }, pgpKey },
    ],
  ];

  it.each(saves)("%s", (_, settings) => {
    const result = sourceUpdate(row, settings, "ann@bank");
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    const pendingEdit = withPendingSource(row, result.update.data);
    const edited = asEdited({ ...row, pendingEdit });
    for (const [field, value] of Object.entries(result.update.data)) expect(edited, field).toHaveProperty(field, value);
  });
});
