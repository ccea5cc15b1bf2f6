// The Source step's form for its three shapes: Content Export through the File Management API or
// SFTP, and the service account's own conversations. Messages are shown to admins as written and
// never repeat any part of a key, a password or a passphrase.
import { createPrivateKey } from "node:crypto";
import { posix } from "node:path";
import ssh2 from "ssh2";
import { z } from "zod";
import { DecryptionKeyError, readDecryptionKey } from "@/lib/content-export";
import { fieldErrors, sourceSettingsSchema, type FieldErrors, type SourceSettings } from "./schemas";

export const SOURCE_KINDS = ["CONTENT_EXPORT", "CONVERSATIONS", "DATAHOSE"] as const;
export type SourceKind = (typeof SOURCE_KINDS)[number];
export const EXPORT_DELIVERIES = ["FILES_API", "SFTP"] as const;
export type ExportDeliveryKind = (typeof EXPORT_DELIVERIES)[number];
export const SFTP_AUTH_METHODS = ["KEY", "PASSWORD"] as const;

/** Larger than any SSH private key (an OpenSSH RSA 16,384-bit key is about 12.5 KB). */
export const MAX_SSH_KEY_BYTES = 16_384;
/** Larger than an armored RSA 4096 key with several subkeys and user ids. */
export const MAX_PGP_KEY_BYTES = 65_536;
const MAX_SECRET_CHARS = 1_024;

/** What the Source step's form sends; every field is optional, only the chosen source's are read. */
export interface SourceStepInput {
  sourceKind?: string;
  exportDelivery?: string;
  podUrl?: string;
  agentUrl?: string;
  keyManagerUrl?: string;
  botUsername?: string;
  privateKeyPem?: string;
  streamTypes?: string[];
  sftpHost?: string;
  sftpPort?: string | number;
  sftpUsername?: string;
  sftpAuth?: string;
  sftpPrivateKeyPem?: string;
  sftpPassword?: string;
  sftpFolder?: string;
  /** The fingerprint a probe showed (or the one on file), carried by the form. */
  sftpHostKeySha256?: string;
  /** host:port the probe that showed the fingerprint connected to. */
  sftpHostKeyFor?: string;
  sftpHostKeyConfirmed?: boolean;
  pgpPrivateKey?: string;
  pgpPassphrase?: string;
  startDate?: string;
  /** Content Export through the Files API: also capture in real time from the Datahose (agent URL needed). */
  realtime?: boolean;
}

export type SftpCredential = { privateKeyPem: string } | { password: string };

/** A PGP key read and unlocked with its passphrase; stored as `{armoredKey, passphrase}`. */
export type PgpKeyInput = { armoredKey: string; passphrase: string; keyIds: string[] };

export type FilesApiSource = {
  source: "FILES_API";
  podUrl: string;
  /** Real-time capture beside the export: the agent (and key manager) the Datahose is read through. */
  realtime?: { agentUrl: string; keyManagerUrl?: string };
  botUsername: string;
  /** Undefined: keep the key on file (same pod only). */
  privateKeyPem?: string;
  startDate?: Date;
  pgpKey?: PgpKeyInput;
};

export type SftpSource = {
  source: "SFTP";
  sftpHost: string;
  sftpPort: number;
  sftpUsername: string;
  sftpFolder: string;
  sftpAuth: (typeof SFTP_AUTH_METHODS)[number];
  /** Undefined: keep the credential on file (same host, port and user only). */
  sftpCredential?: SftpCredential;
  /** The fingerprint the form carries, whether the admin ticked the box, and which server it was read from. */
  sftpHostKey?: { fingerprint: string; confirmed: boolean; readFrom?: string };
  startDate?: Date;
  pgpKey?: PgpKeyInput;
};

export type ConversationsSource = { source: "CONVERSATIONS" } & SourceSettings;
/** Every conversation of the pod in real time (the Datahose add-on): the same settings as the conversations source. */
export type DatahoseSource = { source: "DATAHOSE" } & SourceSettings;

export type SourceStep = ConversationsSource | DatahoseSource | FilesApiSource | SftpSource;

export type SourceStepResult = { ok: true; settings: SourceStep } | { ok: false; errors: FieldErrors };

const emptyToUndefined = (value: string | undefined) => (value ? value : undefined);

const sourceChoiceSchema = z.object({
  sourceKind: z.enum(SOURCE_KINDS, "Choose what the connector archives."),
  exportDelivery: z.string().optional(),
});

const deliverySchema = z.enum(EXPORT_DELIVERIES, "Choose how Symphony delivers the export files.");

export const SSH_KEY_ERRORS = {
  notAKey:
    "This is not an SSH private key: paste the key in OpenSSH format (-----BEGIN OPENSSH PRIVATE KEY-----) or PEM format (-----BEGIN RSA PRIVATE KEY-----).",
  publicKey: "This is an SSH public key: paste the private key that belongs to it.",
  encrypted:
    'This SSH private key is protected by a passphrase, which the connector cannot keep: give it a copy of the key without one (ssh-keygen -p -N "" -f <copy of the key>).',
  tooLarge: "This file is too large to be an SSH private key.",
} as const;

/**
 * The key in a form ssh2 reads: PKCS#8 (`BEGIN PRIVATE KEY`) RSA and EC keys, which ssh2 does not
 * read, are rewritten as PKCS#1 / SEC1 PEM; anything else is returned as it is.
 */
function sshReadable(pem: string): string {
  if (!pem.includes("-----BEGIN PRIVATE KEY-----")) return pem;
  try {
    const key = createPrivateKey({ key: pem, format: "pem" });
    if (key.asymmetricKeyType === "rsa") return key.export({ type: "pkcs1", format: "pem" }).toString();
    if (key.asymmetricKeyType === "ec") return key.export({ type: "sec1", format: "pem" }).toString();
  } catch {
    // Not a readable PKCS#8 key: ssh2's verdict below names the problem.
  }
  return pem;
}

/** Why the text is not an SSH private key the connector can sign in with; undefined when it is one. */
export function sshPrivateKeyProblem(text: string): string | undefined {
  if (/-----BEGIN [A-Z0-9 ]*PUBLIC KEY-----|^(ssh-|ecdsa-)/.test(text)) return SSH_KEY_ERRORS.publicKey;
  let parsed: ReturnType<typeof ssh2.utils.parseKey>;
  try {
    parsed = ssh2.utils.parseKey(text);
  } catch {
    return SSH_KEY_ERRORS.notAKey;
  }
  if (parsed instanceof Error) {
    return /encrypted|passphrase/i.test(parsed.message) || /ENCRYPTED/.test(text)
      ? SSH_KEY_ERRORS.encrypted
      : SSH_KEY_ERRORS.notAKey;
  }
  return parsed.isPrivateKey() ? undefined : SSH_KEY_ERRORS.publicKey;
}

const PORT_ERROR = "Enter the port as a whole number from 1 to 65535 (SFTP usually listens on 22).";

const sftpPortSchema = z
  .union([z.string(), z.number()])
  .optional()
  .transform((value) => String(value ?? "").trim() || "22")
  .pipe(z.string().regex(/^\d{1,5}$/, PORT_ERROR))
  .transform(Number)
  .pipe(z.number().int().min(1, PORT_ERROR).max(65_535, PORT_ERROR));

/** An absolute POSIX path, normalised (no trailing slash but for "/"); `..` and control characters refused. */
const sftpFolderSchema = z
  .string()
  .trim()
  .min(1, "Enter the remote folder Symphony puts the files in, such as /exports.")
  .max(1_024, "Use at most 1,024 characters.")
  .refine(
    (folder) => folder.startsWith("/"),
    "Enter the remote folder as an absolute path: it starts with /, such as /exports.",
  )
  .refine((folder) => !/\p{Cc}/u.test(folder), "The remote folder may not contain control characters.")
  .refine(
    (folder) => !folder.split("/").includes(".."),
    "The remote folder may not contain .. (write the path it leads to).",
  )
  .transform((folder) => {
    const normalised = posix.normalize(folder);
    return normalised.length > 1 ? normalised.replace(/\/+$/, "") : normalised;
  });

/** OpenSSH's `SHA256:` + 43 base64 characters; also accepted without the prefix or with the padding. */
export function normalisedFingerprint(value: string): string | undefined {
  const match = /^(?:SHA256:)?([A-Za-z0-9+/]{43})=?$/.exec(value.trim());
  return match ? `SHA256:${match[1]}` : undefined;
}

const optionalText = z
  .string()
  .optional()
  .transform((value) => emptyToUndefined(value?.trim()));
/** Passwords and passphrases are taken exactly as typed (spaces are characters too). */
const optionalSecret = z
  .string()
  .max(MAX_SECRET_CHARS, `Use at most ${MAX_SECRET_CHARS} characters.`)
  .optional()
  .transform(emptyToUndefined);

const sftpSchema = z
  .object({
    sftpHost: z
      .string()
      .optional()
      .transform((host) => (host ?? "").trim().toLowerCase())
      .pipe(
        z
          .string()
          .min(1, "Enter the SFTP server's host name or IP address.")
          .max(253, "A host name has at most 253 characters.")
          .regex(
            /^[^\s/:@]+$|^\[[0-9a-f:.]+\]$/,
            "Enter only the host name or IP address, without sftp://, a user name, a port or a path.",
          ),
      ),
    sftpPort: sftpPortSchema,
    sftpUsername: z
      .string()
      .optional()
      .transform((name) => (name ?? "").trim())
      .pipe(z.string().min(1, "Enter the SFTP user name.").max(128, "Use at most 128 characters.")),
    sftpAuth: z.enum(SFTP_AUTH_METHODS, "Choose how the connector signs in: SSH private key or password."),
    sftpPrivateKeyPem: optionalText.pipe(z.string().max(MAX_SSH_KEY_BYTES, SSH_KEY_ERRORS.tooLarge).optional()),
    sftpPassword: optionalSecret,
    sftpFolder: z
      .string()
      .optional()
      .transform((folder) => folder ?? "")
      .pipe(sftpFolderSchema),
    sftpHostKeySha256: optionalText,
    sftpHostKeyFor: optionalText,
    sftpHostKeyConfirmed: z.boolean().optional(),
  })
  .transform((form, context): Omit<SftpSource, "startDate" | "pgpKey"> => {
    let sftpCredential: SftpCredential | undefined;
    if (form.sftpAuth === "KEY" && form.sftpPrivateKeyPem) {
      // Checked by sshKeyErrors, also when another field is wrong.
      sftpCredential = { privateKeyPem: sshReadable(form.sftpPrivateKeyPem) };
    } else if (form.sftpAuth === "PASSWORD" && form.sftpPassword) {
      sftpCredential = { password: form.sftpPassword };
    }
    let sftpHostKey: SftpSource["sftpHostKey"];
    if (form.sftpHostKeySha256) {
      const fingerprint = normalisedFingerprint(form.sftpHostKeySha256);
      if (fingerprint) {
        sftpHostKey = { fingerprint, confirmed: form.sftpHostKeyConfirmed === true, readFrom: form.sftpHostKeyFor };
      } else {
        context.addIssue({
          code: "custom",
          path: ["sftpHostKeyConfirmed"],
          message: "The host key fingerprint is not in OpenSSH's SHA256 form: run Test connection again.",
        });
      }
    }
    return {
      source: "SFTP",
      sftpHost: form.sftpHost,
      sftpPort: form.sftpPort,
      sftpUsername: form.sftpUsername,
      sftpFolder: form.sftpFolder,
      sftpAuth: form.sftpAuth,
      sftpCredential,
      sftpHostKey,
    };
  });

/** The typed SSH key's problem, when the admin chose to sign in with a key. */
function sshKeyErrors(input: SourceStepInput): FieldErrors {
  const pem = input.sftpPrivateKeyPem?.trim();
  if (input.sftpAuth !== "KEY" || !pem || pem.length > MAX_SSH_KEY_BYTES) return {};
  const problem = sshPrivateKeyProblem(sshReadable(pem));
  return problem ? { sftpPrivateKeyPem: problem } : {};
}

const filesApiSchema = z
  .object({
    podUrl: sourceSettingsSchema.shape.podUrl,
    botUsername: z
      .string()
      .trim()
      .min(1, "Enter the service account's user name.")
      .max(128, "Use at most 128 characters."),
    privateKeyPem: sourceSettingsSchema.shape.privateKeyPem,
  })
  .transform((form): Omit<FilesApiSource, "startDate" | "pgpKey"> => ({ source: "FILES_API", ...form }));

const commonSchema = z.object({ startDate: sourceSettingsSchema.shape.startDate });

const realtimeSchema = z.object({
  agentUrl: sourceSettingsSchema.shape.agentUrl,
  keyManagerUrl: sourceSettingsSchema.shape.keyManagerUrl,
});

export const PGP_KEY_ERRORS = {
  tooLarge: "This file is too large to be a PGP private key.",
  passphraseWithoutKey:
    "Paste the PGP private key this passphrase unlocks, or leave the passphrase empty to keep the key on file.",
} as const;

const pgpFieldsSchema = z.object({
  pgpPrivateKey: optionalText.pipe(z.string().max(MAX_PGP_KEY_BYTES, PGP_KEY_ERRORS.tooLarge).optional()),
  pgpPassphrase: optionalSecret,
});

/**
 * The typed PGP key, read and unlocked; undefined when none was typed (the key on file stays).
 * A key that is not a private key, or that the passphrase does not unlock, is refused here.
 */
async function readPgpKey(
  fields: z.output<typeof pgpFieldsSchema>,
): Promise<{ ok: true; key?: PgpKeyInput } | { ok: false; errors: FieldErrors }> {
  const { pgpPrivateKey, pgpPassphrase } = fields;
  if (!pgpPrivateKey) {
    return pgpPassphrase ? { ok: false, errors: { pgpPrivateKey: PGP_KEY_ERRORS.passphraseWithoutKey } } : { ok: true };
  }
  try {
    const key = await readDecryptionKey(pgpPrivateKey, pgpPassphrase);
    return { ok: true, key: { armoredKey: pgpPrivateKey, passphrase: pgpPassphrase ?? "", keyIds: key.keyIds } };
  } catch (error) {
    if (!(error instanceof DecryptionKeyError)) throw error;
    const field = /passphrase/i.test(error.message) ? "pgpPassphrase" : "pgpPrivateKey";
    return { ok: false, errors: { [field]: sentence(error.message) } };
  }
}

/** "the key is…" -> "The key is…." (the library's reasons are clauses). */
function sentence(reason: string): string {
  const text = reason.charAt(0).toUpperCase() + reason.slice(1);
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

/**
 * Validates the Source step's form for the source it chose. Only that source's fields are read
 * (the form keeps the others' values, hidden); every wrong field is named at once.
 */
export async function parseSourceStep(input: SourceStepInput): Promise<SourceStepResult> {
  const choice = sourceChoiceSchema.safeParse(input);
  if (!choice.success) return { ok: false, errors: fieldErrors(choice.error) };
  if (choice.data.sourceKind === "CONVERSATIONS" || choice.data.sourceKind === "DATAHOSE") {
    const parsed = sourceSettingsSchema.safeParse(input);
    return parsed.success
      ? { ok: true, settings: { ...parsed.data, source: choice.data.sourceKind } }
      : { ok: false, errors: fieldErrors(parsed.error) };
  }
  const delivery = deliverySchema.safeParse(choice.data.exportDelivery);
  if (!delivery.success) return { ok: false, errors: { exportDelivery: delivery.error.issues[0]?.message ?? "" } };
  const settings = (delivery.data === "SFTP" ? sftpSchema : filesApiSchema).safeParse(input);
  const sshKey = delivery.data === "SFTP" ? sshKeyErrors(input) : {};
  const common = commonSchema.safeParse(input);
  const realtime = delivery.data === "FILES_API" && input.realtime ? realtimeSchema.safeParse(input) : undefined;
  const pgpFields = pgpFieldsSchema.safeParse(input);
  const pgp = pgpFields.success ? await readPgpKey(pgpFields.data) : undefined;
  const errors: FieldErrors = {
    ...(settings.success ? {} : fieldErrors(settings.error)),
    ...(common.success ? {} : fieldErrors(common.error)),
    ...(realtime && !realtime.success ? fieldErrors(realtime.error) : {}),
    ...(pgpFields.success ? {} : fieldErrors(pgpFields.error)),
    ...(pgp && !pgp.ok ? pgp.errors : {}),
    ...sshKey,
  };
  if (Object.keys(sshKey).length > 0 || !settings.success || !common.success || !pgp?.ok || realtime?.success === false)
    return { ok: false, errors };
  return {
    ok: true,
    settings: {
      ...settings.data,
      startDate: common.data.startDate,
      pgpKey: pgp.key,
      ...(realtime?.success && settings.data.source === "FILES_API" ? { realtime: realtime.data } : {}),
    },
  };
}
