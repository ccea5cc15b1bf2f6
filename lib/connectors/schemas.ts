// zod schemas for what the wizard's forms send. Messages are shown to admins as written.
import { z } from "zod";
import { parseRsaPrivateKey } from "@/lib/symphony/settings";

export const NAME_MAX = 64;

export const connectorNameSchema = z
  .string()
  .trim()
  .min(1, "Enter a name for the connector.")
  .max(NAME_MAX, `Use at most ${NAME_MAX} characters.`)
  .regex(/^[^\p{Cc}<>]*$/u, "The name may not contain control characters or < >.");

export const STREAM_TYPES = [
  { value: "IM", label: "One-to-one chats" },
  { value: "MIM", label: "Group chats" },
  { value: "ROOM", label: "Rooms" },
  { value: "POST", label: "Wall posts" },
] as const;

const streamType = z.enum(["IM", "MIM", "ROOM", "POST"]);

const serviceUrl = (label: string) =>
  z
    .string()
    .trim()
    .min(1, `Enter the ${label}.`)
    .pipe(
      z.url({
        protocol: /^https?$/,
        error: `The ${label} must start with https:// (or http:// for a local test pod).`,
      }),
    )
    .transform((url) => url.replace(/\/+$/, ""));

/** A pasted or uploaded key; the message never repeats any part of the value. */
export const privateKeySchema = z
  .string()
  .trim()
  .max(16_384, "The private key file is too large to be an RSA key.")
  .refine(
    (pem) => parseRsaPrivateKey(pem) !== undefined,
    "This is not a PEM-encoded RSA private key (-----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----).",
  );

export const sourceSettingsSchema = z.object({
  podUrl: serviceUrl("pod URL"),
  agentUrl: serviceUrl("agent URL"),
  keyManagerUrl: serviceUrl("key manager URL"),
  botUsername: z
    .string()
    .trim()
    .min(1, "Enter the bot (service account) user name.")
    .max(128, "Use at most 128 characters."),
  /** Empty means "keep the key on file". */
  privateKeyPem: z.union([z.literal("").transform(() => undefined), privateKeySchema]).optional(),
  streamTypes: z.array(streamType).min(1, "Choose at least one kind of conversation to collect."),
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
