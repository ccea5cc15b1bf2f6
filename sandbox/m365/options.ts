import os from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { z } from "zod";
import { APP_ROLES_WHEN_CONSENTED } from "./tokens";

export const mailboxSchema = z.object({
  address: z.email(),
  displayName: z.string().min(1),
  aliases: z.array(z.email()).default([]),
  /**
   * false: a directory user without an Exchange Online mailbox (unlicensed, on-premises, guest): mail
   * calls answer 404 MailboxNotEnabledForRESTAPI.
   */
  mailboxEnabled: z.boolean().default(true),
  /**
   * How Exchange answers for a user without a mailbox: 404 MailboxNotEnabledForRESTAPI, or 404
   * ResourceNotFound "Resource could not be discovered.", which Graph has answered for the same user at
   * another time (microsoft-graph-docs-contrib#4341).
   */
  noMailboxAnswer: z.enum(["MailboxNotEnabledForRESTAPI", "ResourceNotFound"]).default("MailboxNotEnabledForRESTAPI"),
  /**
   * A mailbox on a dedicated Exchange Server, not a valid Microsoft 365 mailbox: mail calls answer 404
   * MailboxNotSupportedForRESTAPI (Microsoft KB 4462988 names it beside MailboxNotEnabledForRESTAPI).
   */
  onDedicatedExchange: z.boolean().default(false),
  /** Outside the scope of the tenant's application access policy: mail calls answer 403 ErrorAccessDenied "Access to OData is disabled." */
  appAccessBlocked: z.boolean().default(false),
  /**
   * Outside the management scope of the app's RBAC for Applications role assignment (`rbacMailRole`):
   * a token without Entra's Mail.ReadWrite gets 403 ErrorAccessDenied on its mail calls.
   */
  outsideRbacScope: z.boolean().default(false),
  /** Over its quota (ProhibitSendReceiveQuota): creates answer ErrorQuotaExceeded. */
  full: z.boolean().default(false),
  /**
   * How a full mailbox answers a create: 403 ErrorQuotaExceeded, or 507 QuotaExceededException "Target
   * mailbox quota exceeded." (microsoft-graph-docs-contrib#6177; Graph's errors page: "507 Insufficient
   * Storage: The maximum storage quota has been reached").
   */
  fullAnswer: z.enum(["ErrorQuotaExceeded", "QuotaExceededException"]).default("ErrorQuotaExceeded"),
  /** Set-Mailbox -MaxReceiveSize, in bytes; Exchange Online's default is 36 MB. */
  maxReceiveSize: z
    .number()
    .int()
    .min(1)
    .max(150 * 1024 * 1024)
    .default(36 * 1024 * 1024),
});

export type MailboxPolicy = Pick<
  z.output<typeof mailboxSchema>,
  | "mailboxEnabled"
  | "noMailboxAnswer"
  | "onDedicatedExchange"
  | "appAccessBlocked"
  | "outsideRbacScope"
  | "full"
  | "fullAnswer"
  | "maxReceiveSize"
>;

export const signInUserSchema = z.object({
  email: z.email(),
  name: z.string().min(1),
  roles: z.array(z.string().min(1)).default([]),
});

export const limitsSchema = z.object({
  concurrentRequests: z.number().int().min(1).default(4),
  requestsPerWindow: z.number().int().min(1).default(10_000),
  requestWindowMs: z
    .number()
    .int()
    .min(1)
    .default(10 * 60 * 1000),
  uploadBytesPerWindow: z
    .number()
    .int()
    .min(1)
    .default(150 * 1024 * 1024),
  uploadWindowMs: z
    .number()
    .int()
    .min(1)
    .default(5 * 60 * 1000),
});

export const faultsSchema = z.object({
  /** Share (0..1) of Graph requests answered 503 with Retry-After. */
  serviceUnavailableShare: z.number().min(0).max(1).default(0),
  retryAfterSeconds: z.number().int().min(0).default(1),
  /** Extra latency added to every Graph request while it holds its concurrency slot. */
  latencyMs: z.number().int().min(0).default(0),
  /**
   * Admin consent reaches tokens this many seconds after it is given (Accept on the consent page or
   * setConsent(true)): app-only tokens issued before then carry no roles, and Graph answers them 403
   * for as long as they live.
   */
  consentDelaySeconds: z.number().min(0).default(0),
  /**
   * Share (0..1) of message creates that Exchange carries out although the gateway answers 504: the item
   * shows up only when the same create is sent again (just before that retry is handled) or after
   * lostCreateLandsAfterMs. A given request is lost once; its retries are answered normally.
   */
  lostCreateShare: z.number().min(0).max(1).default(0),
  lostCreateLandsAfterMs: z.number().int().min(0).default(30_000),
});

export const DEFAULT_TENANT_ID = "3f6c5a2e-8d4b-4c1e-9a7f-0b2d4e6f8a10";
export const DEFAULT_APP_CLIENT_ID = "b7d1c0a4-5e2f-4a6b-8c9d-1e2f3a4b5c6d";
export const DEFAULT_WEB_CLIENT_ID = "c8e2d1b5-6f3a-4b7c-9d0e-2f3a4b5c6d7e";
export const ADMIN_ROLE = "Connector.Admin";
export const READER_ROLE = "Connector.Reader";

/**
 * What an app registration holds besides its id and credentials. Redirect URIs are matched exactly
 * (case-sensitive), except that the port of a localhost/127.0.0.1 URI is ignored, as Entra does.
 */
const registrationFields = {
  /** Web redirect URIs (Authentication → Web); an authorize or admin-consent request naming another gets AADSTS50011. */
  redirectUris: z
    .array(
      z.url().refine(
        (uri) => {
          const { protocol, hostname } = new URL(uri);
          return protocol === "https:" || (protocol === "http:" && ["localhost", "127.0.0.1"].includes(hostname));
        },
        // Entra's rule ("Supported schemes"): http only for localhost, and not the IPv6 loopback.
        {
          error: (issue) =>
            `${String(issue.input)}: a redirect URI must be https, or http for localhost or 127.0.0.1 only, as Entra ID requires (serve the app over https and set APP_URL to that address, or open it at http://localhost)`,
        },
      ),
    )
    .default([]),
  /**
   * Sign this app's ID tokens with a key of its own, as Entra does for an app with a claims-mapping
   * policy and custom signing key: the key is only in the JWKS that `?appid=<client id>` discovery names.
   */
  customSigningKey: z.boolean().default(false),
};

export const optionsSchema = z.object({
  port: z.number().int().min(0).max(65535).default(0),
  /** Where attachment bytes go; a fresh temporary folder when not given. */
  dataDir: z.string().min(1).optional(),
  /** Folder of the local CA and server certificate (see ensureSandboxCa). */
  caDir: z.string().min(1).default(".data/test/m365-ca"),
  tenantId: z.uuid().default(DEFAULT_TENANT_ID),
  tenantDomain: z.string().min(1).default("sandbox.onmicrosoft.com"),
  mailboxes: z.array(mailboxSchema).default([]),
  signInUsers: z.array(signInUserSchema).optional(),
  consented: z.boolean().default(false),
  /**
   * The application permissions granted to the import app in Entra ID: the roles of its tokens once
   * consented (a permission left out of the app registration is missing from them). Graph answers 403
   * to a token without Mail.ReadWrite and User.Read.All.
   */
  appRoles: z.array(z.string().min(1)).default(APP_ROLES_WHEN_CONSENTED),
  /**
   * RBAC for Applications: Exchange Online grants the import app `Application Mail.ReadWrite`
   * (New-ManagementRoleAssignment -App … -CustomResourceScope …), for the mailboxes not marked
   * `outsideRbacScope`. Independent of the Entra grants: a token without Mail.ReadWrite may still
   * use those mailboxes.
   */
  rbacMailRole: z.boolean().default(false),
  /** Lifetime of app-only access tokens (expires_in); short values let tests see expiry and re-authentication. */
  tokenLifetimeSeconds: z.number().int().min(1).max(86_400).default(3599),
  limits: limitsSchema.partial().default({}),
  faults: faultsSchema.partial().default({}),
  /** How far the service's clock runs ahead of this machine's (negative: behind), in seconds: its Date headers say so. */
  clockSkewSeconds: z.number().int().default(0),
  app: z
    .object({
      clientId: z.uuid().default(DEFAULT_APP_CLIENT_ID),
      clientSecret: z.string().min(16).optional(),
      certificatePem: z.string().optional(),
      privateKeyPem: z.string().optional(),
      ...registrationFields,
    })
    .default({ clientId: DEFAULT_APP_CLIENT_ID, redirectUris: [], customSigningKey: false }),
  /** A second registration for admin sign-in only (the product's AUTH_CLIENT_ID). */
  webApp: z
    .object({
      clientId: z.uuid().default(DEFAULT_WEB_CLIENT_ID),
      clientSecret: z.string().min(16).optional(),
      ...registrationFields,
    })
    .default({ clientId: DEFAULT_WEB_CLIENT_ID, redirectUris: [], customSigningKey: false }),
});

export type M365SandboxOptions = z.input<typeof optionsSchema>;
export type ParsedOptions = z.output<typeof optionsSchema>;
/** A mailbox as callers give it (policy fields optional). */
export type Mailbox = z.input<typeof mailboxSchema>;
export type ParsedMailbox = z.output<typeof mailboxSchema>;
export type SignInUser = z.output<typeof signInUserSchema>;
export type Limits = z.output<typeof limitsSchema>;
export type Faults = z.output<typeof faultsSchema>;

export function parseOptions(input: M365SandboxOptions): ParsedOptions {
  const result = optionsSchema.safeParse(input);
  if (!result.success) throw new Error(`Invalid M365 sandbox options: ${z.prettifyError(result.error)}`);
  return result.data;
}

export function defaultDataDir(): string {
  return path.join(os.tmpdir(), `m365-sandbox-${randomBytes(6).toString("hex")}`);
}

/** The people of the tenant: one per app role, and a member nobody assigned a role (who can still sign in). */
export function defaultSignInUsers(domain: string): SignInUser[] {
  return [
    { email: `admin@${domain}`, name: "Adele Admin", roles: [ADMIN_ROLE] },
    { email: `viewer@${domain}`, name: "Victor Viewer", roles: [READER_ROLE] },
    { email: `norole@${domain}`, name: "Nora Norole", roles: [] },
  ];
}

/** The two redirect URIs the connector's app registration holds (docs/SETUP.md, section 1). */
export function connectorRedirectUris(appUrl: string): { signIn: string; consent: string } {
  return {
    signIn: new URL("/api/auth/callback/entra", appUrl).toString(),
    consent: new URL("/api/consent/callback", appUrl).toString(),
  };
}

export function newSecret(): string {
  return `sbx~${randomBytes(24).toString("base64url")}`;
}
