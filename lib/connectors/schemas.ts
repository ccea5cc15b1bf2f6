// zod schemas for what the wizard's forms send. Messages are shown to admins as written.
import { z } from "zod";
import { config } from "@/lib/config";
import { streamTypeSchema, type StreamType } from "@/lib/stream-types";
import { BASE_URL_ONLY, HTTPS_REQUIRED, isBaseAddress, parseRsaPrivateKey, schemeAllowed } from "@/lib/symphony";

export const NAME_MAX = 64;

/**
 * A connector's name, NFKC-normalised (so look-alike spellings such as full-width letters are one
 * name for the uniqueness check). Control, format (bidi overrides, zero-width) and line or paragraph
 * separator characters are refused: they make one name look like another.
 */
export const connectorNameSchema = z
  .string()
  .transform((name) => name.normalize("NFKC").trim())
  .pipe(
    z
      .string()
      .min(1, "Enter a name for the connector.")
      .max(NAME_MAX, `Use at most ${NAME_MAX} characters.`)
      .regex(/^[^\p{Cc}<>]*$/u, "The name may not contain control characters or < >.")
      .regex(
        /^[^\p{Cf}\p{Zl}\p{Zp}]*$/u,
        "The name may not contain invisible formatting characters (such as direction overrides) or line separators.",
      ),
  );

/** The kinds of conversation an admin chooses from; `label` also names the choice elsewhere (review, flyout). */
export const STREAM_TYPES: ReadonlyArray<{ value: StreamType; label: string; hint: string }> = [
  { value: "IM", label: "One-to-one chats", hint: "Chats between two people." },
  {
    value: "MIM",
    label: "Group chats",
    hint: "Chats of three or more people: the older ones and those Symphony has kept as rooms marked as group chats since SBE 20.16.",
  },
  { value: "ROOM", label: "Rooms", hint: "Named rooms (not group chats)." },
  {
    value: "POST",
    label: "Wall posts",
    hint: "Each person's wall. Symphony lists walls per user, so this costs one request per user at each run.",
  },
];

/**
 * A service's base URL. Admins often paste the URL with the service's own path (Symphony's docs
 * show `https://acme.symphony.com/pod`): a trailing `/pod`, `/agent` or `/relay` and trailing
 * slashes are removed, since the client adds them (see `normalisedUrlNotes`).
 */
export function baseServiceUrl(url: string, servicePath: string): string {
  const trimmed = url.trim().replace(/\/+$/, "");
  return trimmed.toLowerCase().endsWith(`/${servicePath}`)
    ? trimmed.slice(0, -servicePath.length - 1).replace(/\/+$/, "")
    : trimmed;
}

const serviceUrl = (label: string, servicePath: string) =>
  z
    .string()
    .trim()
    .min(1, `Enter the ${label}.`)
    .pipe(z.url({ protocol: /^https?$/, error: `The ${label} ${HTTPS_REQUIRED}.` }))
    .refine(isBaseAddress, `The ${label} ${BASE_URL_ONLY}.`)
    // A host name's addresses are only known when it is called: network.ts refuses http:// to a public one then.
    .refine(
      (url) => !URL.canParse(url) || schemeAllowed(new URL(url), config().SYMPHONY_ALLOW_PRIVATE_HOSTS),
      `The ${label} ${HTTPS_REQUIRED}.`,
    )
    .transform((url) => baseServiceUrl(url, servicePath));

export const SERVICE_PATHS = { podUrl: "pod", agentUrl: "agent", keyManagerUrl: "relay" } as const;

/** What the normalisation removed from the typed URLs, in words for the admin. */
export function normalisedUrlNotes(typed: Partial<Record<keyof typeof SERVICE_PATHS, string>>): string[] {
  return Object.entries(SERVICE_PATHS).flatMap(([field, servicePath]) => {
    const value = typed[field as keyof typeof SERVICE_PATHS]?.trim().replace(/\/+$/, "") ?? "";
    return value && baseServiceUrl(value, servicePath) !== value
      ? [
          `/${servicePath} was removed from the ${field === "keyManagerUrl" ? "key manager" : servicePath} URL (the connector adds it).`,
        ]
      : [];
  });
}

/** A pasted or uploaded key; the message never repeats any part of the value. */
export const MIN_RSA_BITS = 2048;

/** Larger than any RSA private key PEM (a 16,384-bit key is about 12.5 KB). */
export const MAX_PRIVATE_KEY_BYTES = 16_384;

export const privateKeySchema = z
  .string()
  .trim()
  .max(MAX_PRIVATE_KEY_BYTES, "The private key file is too large to be an RSA key.")
  .refine(
    (pem) => parseRsaPrivateKey(pem) !== undefined,
    "This is not a PEM-encoded RSA private key (-----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----).",
  )
  .refine(
    (pem) => (parseRsaPrivateKey(pem)?.asymmetricKeyDetails?.modulusLength ?? 0) >= MIN_RSA_BITS,
    `This RSA key is too short: use a key of at least ${MIN_RSA_BITS} bits.`,
  );

export const sourceSettingsSchema = z.object({
  podUrl: serviceUrl("pod URL", SERVICE_PATHS.podUrl),
  agentUrl: serviceUrl("agent URL", SERVICE_PATHS.agentUrl),
  /** Empty: none, for a pod that offers simplified key delivery (Test connection says when it does not). */
  keyManagerUrl: z.preprocess(
    (url) => (typeof url === "string" && url.trim() === "" ? undefined : url),
    serviceUrl("key manager URL", SERVICE_PATHS.keyManagerUrl).optional(),
  ),
  botUsername: z
    .string()
    .trim()
    .min(1, "Enter the bot (service account) user name.")
    .max(128, "Use at most 128 characters."),
  /** Empty means "keep the key on file". */
  privateKeyPem: z.union([z.literal("").transform(() => undefined), privateKeySchema]).optional(),
  streamTypes: z.array(streamTypeSchema).min(1, "Choose at least one kind of conversation to collect."),
  startDate: z
    .union([z.literal("").transform(() => undefined), z.iso.date("Enter the start date as YYYY-MM-DD.")])
    .optional()
    .transform((date) => (date ? new Date(`${date}T00:00:00Z`) : undefined))
    .refine((date) => !date || date.getTime() <= Date.now(), "The start date cannot be in the future."),
});

export type SourceSettingsInput = z.input<typeof sourceSettingsSchema>;
export type SourceSettings = z.output<typeof sourceSettingsSchema>;

export const mailboxSchema = z.email("Enter a valid email address.").transform((address) => address.toLowerCase());

export const mappingSettingsSchema = z.object({
  mappingMode: z.enum(["AUTO", "CSV"]),
  fallbackMailbox: z
    .union([z.literal("").transform(() => undefined), z.string().trim().pipe(mailboxSchema)])
    .optional(),
});

/** Field name -> first message, the shape the forms render next to each field. */
export type FieldErrors = Record<string, string>;

export function fieldErrors(error: z.ZodError): FieldErrors {
  const errors: FieldErrors = {};
  for (const issue of error.issues) {
    const field = String(issue.path[0] ?? "form");
    errors[field] ??= issue.message;
  }
  return errors;
}
