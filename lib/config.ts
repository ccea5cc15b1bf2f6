// Every environment variable the product reads, parsed once with zod.
// `npm start` fills the optional ones with embedded defaults (scripts/start.ts) before the app reads them.
import os from "node:os";
import path from "node:path";
import { z } from "zod";
import { M365_CLOUDS, M365_CLOUD_NAMES } from "./m365/settings";

const optionalString = z.string().trim().min(1).optional();
const optionalUrl = z.url().optional();
/** A tenant id as Entra writes it (a GUID; `z.guid()` does not ask for an RFC 4122 version). */
export function isGuid(value: string): boolean {
  return z.guid().safeParse(value).success;
}
/** Entra authorities for more than one tenant. */
const MULTI_TENANT_AUTHORITIES = new Set(["common", "organizations", "consumers"]);

const schema = z
  .object({
    NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
    DATA_DIR: z.string().min(1).default(".data"),
    PORT: z.coerce.number().int().min(1).max(65535).default(3000),
    APP_URL: z.url().default("http://localhost:3000"),
    LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),

    DATABASE_URL: z
      .string()
      .regex(/^postgres(ql)?:\/\//, "must be a postgresql:// connection URL")
      .optional(),
    AZURE_STORAGE_CONNECTION_STRING: optionalString,
    STAGING_CONTAINER: z
      .string()
      .regex(/^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/, "must be a valid Azure container name")
      .default("symphony-staging"),
    STAGING_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(30),
    /** Local, encrypted copies of staged bundles a worker read (lib/staging/spool.ts): where, and how much; 0 turns them off. */
    STAGING_SPOOL_DIR: z.string().min(1).default(path.join(os.tmpdir(), "symphony-archive-spool")),
    STAGING_SPOOL_MB: z.coerce.number().int().min(0).max(1_048_576).default(1024),

    NEXTAUTH_SECRET: z.string().min(32, "must be at least 32 characters").optional(),
    /** 32 bytes, base64: the key that encrypts stored secrets (Symphony private keys). */
    SECRETS_KEY: z
      .string()
      .refine(
        (v) => Buffer.from(v, "base64").length === 32 && Buffer.from(v, "base64").toString("base64") === v,
        "must be exactly 32 bytes in canonical base64 (openssl rand -base64 32)",
      )
      .optional(),

    /** Microsoft 365 cloud: sets ENTRA_AUTHORITY_HOST and GRAPH_BASE_URL together (each still wins when set). */
    M365_CLOUD: z.enum(M365_CLOUD_NAMES, `must be one of ${M365_CLOUD_NAMES.join(", ")}`).default("worldwide"),
    ENTRA_AUTHORITY_HOST: optionalUrl,
    /** One tenant, by id or domain: `common`, `organizations` or `consumers` would let anyone's sign-in in. */
    ENTRA_TENANT_ID: optionalString.refine(
      (v) => v === undefined || !MULTI_TENANT_AUTHORITIES.has(v.toLowerCase()),
      "must be your tenant's id or domain, not common, organizations or consumers (they sign in people of any Microsoft 365 organisation)",
    ),
    ENTRA_CLIENT_ID: optionalString,
    ENTRA_CLIENT_SECRET: optionalString,
    ENTRA_CLIENT_CERTIFICATE_PATH: optionalString,
    ENTRA_CLIENT_KEY_PATH: optionalString,
    /** Admin sign-in app registration; defaults to ENTRA_CLIENT_ID and its certificate or secret (one app can do both). */
    AUTH_CLIENT_ID: optionalString,
    AUTH_CLIENT_SECRET: optionalString,
    GRAPH_BASE_URL: optionalUrl,
    ADMIN_ROLE: z.string().min(1).default("Connector.Admin"),
    /** App role that may look at connectors, their details and status logs but change nothing; ADMIN_ROLE implies it. */
    READER_ROLE: z.string().min(1).default("Connector.Reader"),
    /** The mailbox `npm run doctor` and the Health page probe (default: a connector's mapped or fallback mailbox). */
    DOCTOR_PROBE_MAILBOX: z.email("must be an e-mail address").optional(),

    CRON_SECRET: z.string().min(16, "must be at least 16 characters").optional(),
    WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
    /** Heap limit in MB of the thread that reads one Content Export file; a file that needs more fails with that reason. */
    EXPORT_READER_HEAP_MB: z.coerce.number().int().min(64).max(16_384).default(256),
    SANDBOX_CONSOLE_URL: optionalUrl,
    /** Lets the Symphony URLs point at loopback, link-local or private addresses (an agent or key manager on premises). */
    SYMPHONY_ALLOW_PRIVATE_HOSTS: z
      .enum(["true", "false"], "must be true or false")
      .default("false")
      .transform((value) => value === "true"),

    /** Told (a JSON POST) when a connector enters Needs attention; Slack and Teams incoming webhooks read its "text". */
    NOTIFY_WEBHOOK_URL: z.url({ protocol: /^https?$/, error: "must be an http:// or https:// URL" }).optional(),
    /** The mailbox that sends the Needs attention e-mail through Graph (the import app needs Mail.Send). */
    NOTIFY_EMAIL_FROM: z.email("must be an e-mail address").optional(),
    /** Who receives it: comma-separated e-mail addresses. */
    NOTIFY_EMAIL_TO: z
      .string()
      .transform((value) =>
        value
          .split(",")
          .map((address) => address.trim())
          .filter(Boolean),
      )
      .pipe(z.array(z.email("must be e-mail addresses separated by commas")).min(1))
      .optional(),
  })
  .refine((c) => !(c.ENTRA_CLIENT_CERTIFICATE_PATH && !c.ENTRA_CLIENT_KEY_PATH), {
    path: ["ENTRA_CLIENT_KEY_PATH"],
    message: "is required with ENTRA_CLIENT_CERTIFICATE_PATH",
  })
  .refine((c) => !c.NOTIFY_EMAIL_FROM === !c.NOTIFY_EMAIL_TO, {
    path: ["NOTIFY_EMAIL_TO"],
    message: "and NOTIFY_EMAIL_FROM are set together (who sends the e-mail, and to whom)",
  })
  .transform((c) => ({
    ...c,
    ENTRA_AUTHORITY_HOST: c.ENTRA_AUTHORITY_HOST ?? M365_CLOUDS[c.M365_CLOUD].authorityHost,
    GRAPH_BASE_URL: c.GRAPH_BASE_URL ?? M365_CLOUDS[c.M365_CLOUD].graphBaseUrl,
  }));

export type Config = z.infer<typeof schema>;

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Parses the given environment; the error names each bad variable and why, never its value. */
export function parseConfig(env: Record<string, string | undefined>): Config {
  const blanksRemoved = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const result = schema.safeParse(blanksRemoved);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => `  ${issue.path.join(".") || "(config)"}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join("\n")}`);
  }
  return result.data;
}

let cached: Config | undefined;

export function config(): Config {
  cached ??= parseConfig(process.env);
  return cached;
}

/** The variable that must be present for a feature to work; a clear error when it is not. */
export function required<K extends keyof Config>(key: K, from: Config = config()): NonNullable<Config[K]> {
  const value = from[key];
  if (value === undefined || value === null) {
    throw new ConfigError(`${String(key)} is not set (npm start sets it in embedded mode; see README.md)`);
  }
  return value;
}
