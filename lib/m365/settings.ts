import { z } from "zod";

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
    authorityHost: httpsUrl.default("https://login.microsoftonline.com"),
    graphBaseUrl: httpsUrl.default("https://graph.microsoft.com"),
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
