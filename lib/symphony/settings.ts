import { createPrivateKey, type KeyObject } from "node:crypto";
import { z } from "zod";

const baseUrl = (label: string) =>
  z
    .string({ error: `${label} is required` })
    .trim()
    .pipe(z.url({ protocol: /^https?$/, error: `${label} must be an http:// or https:// URL` }))
    .transform((url) => url.replace(/\/+$/, ""));

/** Parses a PEM RSA private key (PKCS#1 or PKCS#8); undefined when it is anything else. */
export function parseRsaPrivateKey(pem: string): KeyObject | undefined {
  try {
    const key = createPrivateKey({ key: pem, format: "pem" });
    return key.asymmetricKeyType === "rsa" ? key : undefined;
  } catch {
    return undefined;
  }
}

export const symphonySettingsSchema = z.object({
  podUrl: baseUrl("Pod URL"),
  agentUrl: baseUrl("Agent URL"),
  /** None: the agent is reached with simplified key delivery, which the pod must then offer (auth.ts). */
  keyManagerUrl: z.preprocess(
    (url) => (url === null || (typeof url === "string" && url.trim() === "") ? undefined : url),
    baseUrl("Key manager URL").optional(),
  ),
  botUsername: z.string({ error: "Bot username is required" }).trim().min(1, "Bot username is required"),
  // The error text is fixed on purpose: it must never repeat (part of) the key.
  privateKeyPem: z
    .string({ error: "Private key is required" })
    .refine((pem) => parseRsaPrivateKey(pem) !== undefined, {
      error: "Private key is not a PEM-encoded RSA private key",
    }),
});

export type SymphonySettingsInput = z.input<typeof symphonySettingsSchema>;
export type SymphonySettings = z.output<typeof symphonySettingsSchema>;

/** Validated settings; throws a ZodError whose messages name the field, never its secret value. */
export function parseSymphonySettings(input: unknown): SymphonySettings {
  return symphonySettingsSchema.parse(input);
}
