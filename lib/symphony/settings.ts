import { createPrivateKey, type KeyObject } from "node:crypto";
import { z } from "zod";
import { HTTPS_REQUIRED, schemeAllowed } from "./network";

/** Why a base URL is refused when it carries more than scheme, host, port and path. */
export const BASE_URL_ONLY =
  "must be the service's base address, without ?query, #fragment or user:password@ (for example https://acme.symphony.com)";

/**
 * Whether a URL is only a base address: requests are built as `new URL(base + path)`, so a query or
 * fragment would swallow every path, and a password in it would be stored and shown wherever the URL is.
 */
export function isBaseAddress(url: string): boolean {
  return !/[?#]/.test(url) && !/^[^:/?#]*:\/\/[^/]*@/.test(url);
}

// Whether private hosts are allowed is the client's option: here http:// is refused only for a host
// that is public whatever it is (an IP address); network.ts refuses the rest when it connects.
const baseUrl = (label: string) =>
  z
    .string({ error: `${label} is required` })
    .trim()
    .pipe(z.url({ protocol: /^https?$/, error: `${label} ${HTTPS_REQUIRED}` }))
    .refine(isBaseAddress, `${label} ${BASE_URL_ONLY}`)
    .refine((url) => !URL.canParse(url) || schemeAllowed(new URL(url), true), `${label} ${HTTPS_REQUIRED}`)
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
