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
  "passphrase",
  "pgpPassphrase",
  "pgpPrivateKey",
  "privateKeyPassphrase",
  "sftpPassword",
  "sftpPrivateKeyPem",
  "connectionString",
  "uploadUrl",
  "signedUrl",
  "secret",
].flatMap((key) => [key, `*.${key}`, `*.*.${key}`, `*.*.*.${key}`]);

let root: pino.Logger | undefined;

/** A logger that writes secrets under any of REDACT's names as "[Redacted]", up to four levels deep. */
export function createLogger(level: string, destination?: pino.DestinationStream): pino.Logger {
  return pino({ level, redact: { paths: REDACT, censor: "[Redacted]" } }, destination);
}

/**
 * The process's logger, made on first use: reading the configuration when this module loads would fix
 * it before a test or script has set its environment (DATABASE_URL of a private server, for example).
 */
export const logger: pino.Logger = new Proxy({} as pino.Logger, {
  get(_, property) {
    root ??= createLogger(config().LOG_LEVEL);
    const value: unknown = Reflect.get(root, property, root);
    return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(root) : value;
  },
});
