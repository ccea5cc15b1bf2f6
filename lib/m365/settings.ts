import { z } from "zod";

/**
 * Microsoft 365 clouds: each has its own Entra ID authority host and Graph endpoint, and a token of
 * one is not accepted by another (learn.microsoft.com/graph/deployments,
 * learn.microsoft.com/entra/identity-platform/authentication-national-cloud).
 */
export const M365_CLOUDS = {
  worldwide: { authorityHost: "https://login.microsoftonline.com", graphBaseUrl: "https://graph.microsoft.com" },
  /** US Government L4 (GCC High). */
  "usgov-l4": { authorityHost: "https://login.microsoftonline.us", graphBaseUrl: "https://graph.microsoft.us" },
  /** US Government L5 (DoD). */
  "usgov-l5": { authorityHost: "https://login.microsoftonline.us", graphBaseUrl: "https://dod-graph.microsoft.us" },
  /** Microsoft 365 operated by 21Vianet. */
  china: { authorityHost: "https://login.chinacloudapi.cn", graphBaseUrl: "https://microsoftgraph.chinacloudapi.cn" },
} as const satisfies Record<string, { authorityHost: string; graphBaseUrl: string }>;

export type M365Cloud = keyof typeof M365_CLOUDS;
export const M365_CLOUD_NAMES = Object.keys(M365_CLOUDS) as [M365Cloud, ...M365Cloud[]];

const httpsUrl = z
  .url({ protocol: /^https$/, error: "must be an https:// URL" })
  .transform((url) => url.replace(/\/+$/, ""));

const certificateSchema = z
  .object({
    privateKeyPem: z.string().includes("PRIVATE KEY", { error: "must be a PEM private key" }),
    certificatePem: z.string().includes("BEGIN CERTIFICATE", { error: "must be a PEM certificate" }).optional(),
    thumbprint: z
      .string()
      .regex(/^([0-9a-fA-F]{2}:?){20}$|^([0-9a-fA-F]{2}:?){32}$/, {
        error: "must be a SHA-1 or SHA-256 hex thumbprint",
      })
      .optional(),
  })
  .refine((c) => c.certificatePem !== undefined || c.thumbprint !== undefined, {
    error: "give the certificate PEM or its thumbprint",
  });

/** The app registration and endpoints the importer talks to (real Microsoft 365 or the sandbox). */
export const m365SettingsSchema = z
  .object({
    tenantId: z.string().trim().min(1, { error: "tenantId is required" }),
    clientId: z.string().trim().min(1, { error: "clientId is required" }),
    clientSecret: z.string().min(1).optional(),
    certificate: certificateSchema.optional(),
    authorityHost: httpsUrl.default(M365_CLOUDS.worldwide.authorityHost),
    graphBaseUrl: httpsUrl.default(M365_CLOUDS.worldwide.graphBaseUrl),
  })
  .refine((s) => (s.clientSecret === undefined) !== (s.certificate === undefined), {
    error: "give exactly one credential: clientSecret or certificate",
  });

export type M365SettingsInput = z.input<typeof m365SettingsSchema>;
export type M365Settings = z.output<typeof m365SettingsSchema>;

export function parseM365Settings(input: unknown): M365Settings {
  const parsed = m365SettingsSchema.safeParse(input);
  if (!parsed.success) throw new Error(`Invalid Microsoft 365 settings: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}
