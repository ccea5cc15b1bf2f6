// The Source step's rules that need the saved connector: which stored secret may be sent where, which
// SFTP host key is trusted, and what a save writes.
import type { AuditAction } from "@/lib/audit";
import { db } from "@/lib/db";
import type { Prisma } from "@/lib/generated/prisma/client";
import {
  botKeyContext,
  decryptSecret,
  encryptSecret,
  LEGACY_SECRET_PREFIX,
  pgpKeyContext,
  sftpCredentialContext,
  upgradeSecret,
} from "@/lib/secrets";
import { asEdited } from "./pending-edit";
import type { FieldErrors } from "./schemas";
import type { FilesApiSource, PgpKeyInput, SftpCredential, SftpSource, SourceStep } from "./export-source-settings";

/** What the rules read of the saved connector (never sent to a browser). */
export const savedSourceSelect = {
  id: true,
  podUrl: true,
  agentUrl: true,
  keyManagerUrl: true,
  privateKeyEncrypted: true,
  sftpHost: true,
  sftpPort: true,
  sftpUsername: true,
  sftpCredentialEncrypted: true,
  sftpHostKeySha256: true,
  pgpKeyEncrypted: true,
  pgpKeyIds: true,
} satisfies Prisma.ConnectorSelect;

export type SavedSource = Prisma.ConnectorGetPayload<{ select: typeof savedSourceSelect }>;

export async function loadSavedSource(connectorId: string | undefined): Promise<SavedSource | null> {
  if (!connectorId) return null;
  const saved = await db.connector.findUnique({
    where: { id: connectorId },
    select: { ...savedSourceSelect, pendingEdit: true },
  });
  if (!saved) return null;
  // An active connector's Edit: the secrets on file are those its edit saved, if it saved any.
  const { pendingEdit: _edit, ...edited } = asEdited(saved);
  return edited;
}

type StoredSecret = { connectorId: string; ciphertext: string };

export const KEY_NEEDED_AGAIN =
  "The pod, agent or key manager URL differs from the saved one, so paste or upload the private key again: the key on file only ever signs in to the servers it was saved with.";

type Servers = { podUrl: string; agentUrl?: string; keyManagerUrl?: string };

/**
 * True when every Symphony URL the settings use is the one the stored key was saved with. The Files
 * API signs in to the pod only, so its settings carry no agent or key manager URL to compare.
 */
function sameServers(saved: Pick<SavedSource, keyof Servers>, settings: Servers) {
  return (
    saved.podUrl === settings.podUrl &&
    (settings.agentUrl === undefined || saved.agentUrl === settings.agentUrl) &&
    (settings.keyManagerUrl === undefined || saved.keyManagerUrl === settings.keyManagerUrl)
  );
}

/**
 * The key to sign in with: the one typed, else the one on file — but only towards the servers it was
 * saved with. A login JWT signed with the stored key and sent to another host could be replayed
 * against the real pod, so any changed URL requires the key again.
 */
export function keyForServers(
  saved: Pick<SavedSource, "id" | "privateKeyEncrypted" | keyof Servers> | null,
  settings: Servers & { privateKeyPem?: string },
): { ok: true; privateKeyPem: string } | { ok: true; stored: StoredSecret } | { ok: false; errors: FieldErrors } {
  if (settings.privateKeyPem) return { ok: true, privateKeyPem: settings.privateKeyPem };
  if (!saved?.privateKeyEncrypted) {
    return { ok: false, errors: { privateKeyPem: "Paste or upload the service account's RSA private key." } };
  }
  if (!sameServers(saved, settings)) return { ok: false, errors: { privateKeyPem: KEY_NEEDED_AGAIN } };
  return { ok: true, stored: { connectorId: saved.id, ciphertext: saved.privateKeyEncrypted } };
}

export function decryptBotKey(key: { privateKeyPem: string } | { stored: StoredSecret }): string {
  return "stored" in key
    ? decryptSecret(key.stored.ciphertext, botKeyContext(key.stored.connectorId))
    : key.privateKeyPem;
}

export const SFTP_CREDENTIAL_NEEDED_AGAIN =
  "The SFTP host, port or user name differs from the saved one, so enter the SSH private key or the password again: the credential on file is only ever sent to the server and user it was saved for.";

const sameSftpServer = (saved: Pick<SavedSource, "sftpHost" | "sftpPort">, settings: SftpSource) =>
  saved.sftpHost === settings.sftpHost && saved.sftpPort === settings.sftpPort;

/** The form field the admin types the SFTP credential in. */
export function sftpCredentialField(settings: Pick<SftpSource, "sftpAuth">): "sftpPrivateKeyPem" | "sftpPassword" {
  return settings.sftpAuth === "KEY" ? "sftpPrivateKeyPem" : "sftpPassword";
}

/**
 * The SFTP credential to sign in with: the one typed, else the one on file while the host, port and
 * user name are those it was saved for (sent elsewhere, a password is simply given away).
 */
export function sftpCredentialFor(
  saved: Pick<SavedSource, "id" | "sftpHost" | "sftpPort" | "sftpUsername" | "sftpCredentialEncrypted"> | null,
  settings: SftpSource,
): { ok: true; credential: SftpCredential } | { ok: true; stored: StoredSecret } | { ok: false; errors: FieldErrors } {
  if (settings.sftpCredential) return { ok: true, credential: settings.sftpCredential };
  const field = sftpCredentialField(settings);
  if (!saved?.sftpCredentialEncrypted) {
    const what = settings.sftpAuth === "KEY" ? "Paste or upload the SSH private key" : "Enter the password";
    return { ok: false, errors: { [field]: `${what} of the SFTP user ${settings.sftpUsername}.` } };
  }
  if (!sameSftpServer(saved, settings) || saved.sftpUsername !== settings.sftpUsername) {
    return { ok: false, errors: { [field]: SFTP_CREDENTIAL_NEEDED_AGAIN } };
  }
  return { ok: true, stored: { connectorId: saved.id, ciphertext: saved.sftpCredentialEncrypted } };
}

export function decryptSftpCredential(key: { credential: SftpCredential } | { stored: StoredSecret }): SftpCredential {
  if ("credential" in key) return key.credential;
  const json = JSON.parse(
    decryptSecret(key.stored.ciphertext, sftpCredentialContext(key.stored.connectorId)),
  ) as Partial<Record<"privateKeyPem" | "password", unknown>>;
  if (typeof json.privateKeyPem === "string") return { privateKeyPem: json.privateKeyPem };
  if (typeof json.password === "string") return { password: json.password };
  throw new Error("The stored SFTP credential is neither a private key nor a password");
}

/** Where a host key was read from, as the form carries it. */
export function sftpServerOf(settings: Pick<SftpSource, "sftpHost" | "sftpPort">): string {
  return `${settings.sftpHost}:${settings.sftpPort}`;
}

export type HostKeyTrust =
  /** A fingerprint an admin confirmed: `newly` when it is confirmed by this form (not the one on file). */
  | { state: "confirmed"; fingerprint: string; newly: boolean }
  /** Shown to the admin by a probe, box not ticked yet. */
  | { state: "unconfirmed"; fingerprint: string }
  /** Nothing to trust yet: the server's key must be read (probed) and confirmed. */
  | { state: "unknown" };

/**
 * Which host key the connector may trust for the server in the form. The key on file only ever
 * applies to the host and port it was confirmed for, and a different key shown by a later test
 * replaces it only when the admin ticks the box: never silently.
 */
export function hostKeyToTrust(
  saved: Pick<SavedSource, "sftpHost" | "sftpPort" | "sftpHostKeySha256"> | null,
  settings: SftpSource,
): HostKeyTrust {
  const pinned = saved && sameSftpServer(saved, settings) ? saved.sftpHostKeySha256 : null;
  const shown = settings.sftpHostKey;
  // A fingerprint read from another server than the one now in the form says nothing about this one.
  const fresh = shown && (!shown.readFrom || shown.readFrom === sftpServerOf(settings)) ? shown : undefined;
  if (fresh && fresh.fingerprint === pinned) return { state: "confirmed", fingerprint: pinned, newly: false };
  if (fresh?.confirmed) return { state: "confirmed", fingerprint: fresh.fingerprint, newly: true };
  if (pinned) return { state: "confirmed", fingerprint: pinned, newly: false };
  if (fresh) return { state: "unconfirmed", fingerprint: fresh.fingerprint };
  return { state: "unknown" };
}

export const HOST_KEY_ERRORS = {
  unknown:
    "Run Test connection first: it reads the SFTP server's host key so that you can check its fingerprint and confirm it.",
  unconfirmed:
    "Tick the box once you have checked this fingerprint with the SFTP server's administrator (a server you have not checked could be anyone's).",
} as const;

/** The key ids of the PGP key the admin typed, else of the one on file; undefined when there is none. */
export function pgpKeyIdsFor(
  saved: Pick<SavedSource, "pgpKeyEncrypted" | "pgpKeyIds"> | null,
  typed: PgpKeyInput | undefined,
): string[] | undefined {
  if (typed) return typed.keyIds;
  return saved?.pgpKeyEncrypted ? saved.pgpKeyIds : undefined;
}

/** What a save writes into the Connector row, and the audit events it records. */
export type SourceUpdate = {
  data: Prisma.ConnectorUpdateInput;
  audit: { action: AuditAction; detail: Prisma.InputJsonObject }[];
};

/**
 * The Connector update for saving the step, or the fields that stop it. Secrets are encrypted with
 * the connector's own contexts; an empty secret field keeps the one on file (see the rules above).
 */
export function sourceUpdate(
  saved: SavedSource,
  settings: SourceStep,
  actor: string,
): { ok: true; update: SourceUpdate } | { ok: false; errors: FieldErrors } {
  const startDate = settings.startDate ?? null;
  if (settings.source === "CONVERSATIONS" || settings.source === "DATAHOSE") {
    const key = keyForServers(saved, settings);
    if (!key.ok) return key;
    const { source: _source, privateKeyPem, startDate: _date, ...fields } = settings;
    return {
      ok: true,
      update: {
        data: {
          sourceKind: settings.source,
          realtime: false,
          ...fields,
          // None: the agent is reached with simplified key delivery.
          keyManagerUrl: fields.keyManagerUrl ?? null,
          startDate,
          ...botKeyData(saved.id, privateKeyPem),
        },
        audit: [
          sourceSaved({
            sourceKind: settings.source,
            podUrl: fields.podUrl,
            botUsername: fields.botUsername,
            keyReplaced: Boolean(privateKeyPem),
          }),
        ],
      },
    };
  }
  const pgp = pgpKeyData(saved.id, settings.pgpKey);
  if (settings.source === "FILES_API") return filesApiUpdate(saved, settings, startDate, pgp);

  const trust = hostKeyToTrust(saved, settings);
  const credential = sftpCredentialFor(saved, settings);
  const errors: FieldErrors = {
    ...(credential.ok ? {} : credential.errors),
    ...(trust.state === "confirmed" ? {} : { sftpHostKeyConfirmed: HOST_KEY_ERRORS[trust.state] }),
  };
  if (!credential.ok || trust.state !== "confirmed") return { ok: false, errors };
  const typed = "credential" in credential ? credential.credential : undefined;
  const { sftpHost, sftpPort, sftpUsername, sftpFolder } = settings;
  const audit: SourceUpdate["audit"] = [
    sourceSaved({
      sourceKind: "CONTENT_EXPORT",
      exportDelivery: "SFTP",
      sftpHost,
      sftpPort,
      sftpUsername,
      sftpFolder,
      credentialReplaced: Boolean(typed),
      ...pgp.audit,
    }),
  ];
  if (trust.newly) {
    audit.push({
      action: "connector.sftp_host_key_confirmed",
      detail: {
        host: sftpHost,
        port: sftpPort,
        fingerprint: trust.fingerprint,
        previous: saved.sftpHostKeySha256 ?? null,
      },
    });
  }
  return {
    ok: true,
    update: {
      data: {
        sourceKind: "CONTENT_EXPORT",
        exportDelivery: "SFTP",
        // Real time needs a Symphony sign-in, which an SFTP connector does not have.
        realtime: false,
        sftpHost,
        sftpPort,
        sftpUsername,
        sftpFolder,
        startDate,
        ...(typed
          ? { sftpCredentialEncrypted: encryptSecret(JSON.stringify(typed), sftpCredentialContext(saved.id)) }
          : {}),
        ...(trust.newly ? { sftpHostKeySha256: trust.fingerprint, sftpHostKeyConfirmedBy: actor } : {}),
        ...pgp.data,
      },
      audit,
    },
  };
}

function filesApiUpdate(
  saved: SavedSource,
  settings: FilesApiSource,
  startDate: Date | null,
  pgp: ReturnType<typeof pgpKeyData>,
): { ok: true; update: SourceUpdate } | { ok: false; errors: FieldErrors } {
  const key = keyForServers(saved, { ...settings, ...settings.realtime });
  if (!key.ok) return key;
  const { podUrl, botUsername, privateKeyPem, realtime } = settings;
  return {
    ok: true,
    update: {
      data: {
        sourceKind: "CONTENT_EXPORT",
        exportDelivery: "FILES_API",
        podUrl,
        botUsername,
        startDate,
        ...botKeyData(saved.id, privateKeyPem),
        // A key typed for the Files API was given for the pod only: it must not later sign in to an
        // agent or key manager saved with an earlier key.
        ...(privateKeyPem ? { agentUrl: null, keyManagerUrl: null } : {}),
        // Real time beside the export reads the Datahose through the agent, with the same key.
        realtime: Boolean(realtime),
        ...(realtime ? { agentUrl: realtime.agentUrl, keyManagerUrl: realtime.keyManagerUrl ?? null } : {}),
        ...pgp.data,
      },
      audit: [
        sourceSaved({
          sourceKind: "CONTENT_EXPORT",
          exportDelivery: "FILES_API",
          podUrl,
          botUsername,
          keyReplaced: Boolean(privateKeyPem),
          ...pgp.audit,
        }),
      ],
    },
  };
}

function botKeyData(connectorId: string, privateKeyPem: string | undefined) {
  return privateKeyPem ? { privateKeyEncrypted: encryptSecret(privateKeyPem, botKeyContext(connectorId)) } : {};
}

/** Stored as `{"armoredKey","passphrase"}` (lib/pipeline reads it so); its key ids beside it, in clear. */
function pgpKeyData(connectorId: string, key: PgpKeyInput | undefined) {
  if (!key) return { data: {}, audit: { pgpKeyReplaced: false } };
  const json = JSON.stringify({ armoredKey: key.armoredKey, passphrase: key.passphrase });
  return {
    data: { pgpKeyEncrypted: encryptSecret(json, pgpKeyContext(connectorId)), pgpKeyIds: key.keyIds },
    audit: { pgpKeyReplaced: true, pgpKeyIds: key.keyIds },
  };
}

function sourceSaved(detail: Prisma.InputJsonObject): SourceUpdate["audit"][number] {
  return { action: "connector.source_saved", detail };
}

/**
 * Rewrites bot keys stored by earlier versions (no connector bound to the ciphertext) in the current
 * format. Run at `npm run db:migrate` and when a worker starts; returns how many were upgraded.
 */
export async function upgradeStoredKeys(): Promise<number> {
  const legacy = await db.connector.findMany({
    where: { privateKeyEncrypted: { startsWith: LEGACY_SECRET_PREFIX } },
    select: { id: true, privateKeyEncrypted: true },
  });
  for (const { id, privateKeyEncrypted } of legacy) {
    if (!privateKeyEncrypted) continue;
    await db.connector.updateMany({
      where: { id, privateKeyEncrypted },
      data: { privateKeyEncrypted: upgradeSecret(privateKeyEncrypted, botKeyContext(id)) },
    });
  }
  return legacy.length;
}
