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

export const logger = pino({ level: config().LOG_LEVEL, redact: { paths: REDACT, censor: "[Redacted]" } });
