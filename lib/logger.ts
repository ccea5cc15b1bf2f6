import pino from "pino";
import { config } from "@/lib/config";

/** Paths that may hold a secret anywhere in a logged object; pino writes "[Redacted]" instead. */
const REDACT = [
  "privateKey",
  "privateKeyPem",
  "privateKeyEncrypted",
  "clientSecret",
  "client_secret",
  "password",
  "token",
  "accessToken",
  "sessionToken",
  "keyManagerToken",
  "authorization",
  "Authorization",
].flatMap((key) => [key, `*.${key}`, `*.*.${key}`]);

let root: pino.Logger | undefined;

/**
 * The process's logger, made on first use: reading the configuration when this module loads would fix
 * it before a test or script has set its environment (DATABASE_URL of a private server, for example).
 */
export const logger: pino.Logger = new Proxy({} as pino.Logger, {
  get(_, property) {
    root ??= pino({ level: config().LOG_LEVEL, redact: { paths: REDACT, censor: "[Redacted]" } });
    const value: unknown = Reflect.get(root, property, root);
    return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(root) : value;
  },
});
