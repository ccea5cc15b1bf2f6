// Where Entra ID sends an admin back after sign-in and admin consent: `<APP_URL>/api/auth/callback/entra`
// and `<APP_URL>/api/consent/callback` (APP_URL's origin: a path in it is not kept). Entra refuses a
// redirect URI that is not https, but for localhost and 127.0.0.1
// (learn.microsoft.com/entra/identity-platform/reply-url, "Supported schemes").
import { CONSENT_CALLBACK_PATH } from "@/lib/connectors";
import type { CheckResult } from "./types";

/** next-auth's callback for the provider with id "entra" (lib/auth/options.ts). */
const SIGN_IN_CALLBACK_PATH = "/api/auth/callback/entra";

/** The loopback hosts Entra takes http for ("The IPv6 loopback address ([::1]) is not currently supported"). */
const HTTP_HOSTS = ["localhost", "127.0.0.1"];

const CHECK = { id: "m365.redirects", title: "Sign-in and consent addresses (APP_URL)" } as const;

const FIX =
  "Serve the app over HTTPS (behind a reverse proxy with a certificate, say), set APP_URL to its https:// address, " +
  `and register <APP_URL>${SIGN_IN_CALLBACK_PATH} and <APP_URL>${CONSENT_CALLBACK_PATH} as Web redirect URIs of the app registration.`;

/** Whether Entra ID would take the app's two redirect URIs, and which to register. */
export function redirectCheck(appUrl: string): CheckResult {
  let base: URL;
  try {
    base = new URL(appUrl);
  } catch {
    return { ...CHECK, status: "fail", detail: "APP_URL is not a URL.", fix: FIX };
  }
  const listed = [SIGN_IN_CALLBACK_PATH, CONSENT_CALLBACK_PATH]
    .map((path) => new URL(path, base).toString())
    .join(" and ");
  if (base.protocol === "https:") {
    return {
      ...CHECK,
      status: "ok",
      detail: `Entra ID sends admins back to ${listed}: both must be Web redirect URIs of the app registration.`,
    };
  }
  if (base.protocol === "http:" && HTTP_HOSTS.includes(base.hostname)) {
    return {
      ...CHECK,
      status: "ok",
      detail: `Entra ID sends admins back to ${listed}: both must be Web redirect URIs of the app registration. Plain http works from this machine only, as Entra allows for localhost.`,
    };
  }
  return {
    ...CHECK,
    status: "fail",
    detail: `Entra ID accepts ${base.protocol}// redirect addresses for localhost and 127.0.0.1 only: nobody can sign in or grant consent at ${listed}.`,
    fix: FIX,
  };
}
