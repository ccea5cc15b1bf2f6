import { X509Certificate } from "node:crypto";
import { AuthError, ConfidentialClientApplication, ServerError, type NodeAuthOptions } from "@azure/msal-node";
import { M365AuthError, type M365AuthFailure } from "./errors";
import type { M365Settings } from "./settings";

export const GRAPH_SCOPE = "https://graph.microsoft.com/.default";
const MICROSOFT_AUTHORITY_HOST = "login.microsoftonline.com";

export type TokenProvider = {
  getAccessToken(): Promise<string>;
  /** Forgets the current token (Graph rejected it); the next call asks Entra ID for a new one. */
  refresh(): void;
};

/** Tokens are renewed this long before they expire. */
const RENEW_BEFORE_EXPIRY_MS = 5 * 60_000;

/**
 * App-only tokens for Graph from Entra ID. msal caches them; we also keep the current one, because
 * every Graph request asks and msal's cache lookup costs about 0.1 ms of CPU each time.
 */
export function createTokenProvider(settings: M365Settings): TokenProvider {
  const app = new ConfidentialClientApplication({ auth: authOptions(settings) });
  let cached: { token: string; renewAt: number } | undefined;
  let pending: Promise<string> | undefined;
  let skipCache = false;

  async function acquire() {
    try {
      const result = await app.acquireTokenByClientCredential({ scopes: [GRAPH_SCOPE], skipCache });
      skipCache = false;
      if (!result?.accessToken) throw new M365AuthError("other", "Entra ID returned no access token");
      const expiresAt = result.expiresOn?.getTime() ?? Date.now();
      return { token: result.accessToken, renewAt: expiresAt - RENEW_BEFORE_EXPIRY_MS };
    } catch (error) {
      throw toAuthError(error);
    }
  }

  return {
    getAccessToken() {
      if (cached && cached.renewAt > Date.now()) return Promise.resolve(cached.token);
      pending ??= acquire().then(
        (fresh) => {
          cached = fresh;
          pending = undefined;
          return fresh.token;
        },
        (error: unknown) => {
          pending = undefined;
          throw error;
        },
      );
      return pending;
    },
    refresh() {
      cached = undefined;
      skipCache = true;
    },
  };
}

function authOptions(settings: M365Settings): NodeAuthOptions {
  const host = new URL(settings.authorityHost).host;
  const options: NodeAuthOptions = {
    clientId: settings.clientId,
    authority: `${settings.authorityHost}/${settings.tenantId}`,
    // A host other than Microsoft's (sovereign cloud, the sandbox) must be declared trusted, or msal
    // asks login.microsoftonline.com to validate it.
    knownAuthorities: host === MICROSOFT_AUTHORITY_HOST ? [] : [host],
  };
  if (settings.clientSecret !== undefined) return { ...options, clientSecret: settings.clientSecret };
  const certificate = settings.certificate!;
  const thumbprint = certificate.certificatePem
    ? new X509Certificate(certificate.certificatePem).fingerprint256
    : certificate.thumbprint!;
  const hex = thumbprint.replace(/:/g, "").toUpperCase();
  return {
    ...options,
    clientCertificate:
      hex.length === 64
        ? { thumbprintSha256: hex, privateKey: certificate.privateKeyPem }
        : { thumbprint: hex, privateKey: certificate.privateKeyPem },
  };
}

const NO_CONSENT = /AADSTS(65001|650056|650057|7000229|700016|500011)\b/;
const BAD_CREDENTIALS = /AADSTS(7000215|7000222|700027|700023|700024|50012|5002723)\b/;
const UNKNOWN_TENANT = /AADSTS(90002|90072|900023)\b/;

/** Maps msal's errors to a reason and a message with the AADSTS code, never the credential. */
function toAuthError(error: unknown): M365AuthError {
  if (error instanceof M365AuthError) return error;
  if (!(error instanceof AuthError)) return new M365AuthError("other", `Token request failed: ${String(error)}`);
  const description = firstLine(error.errorMessage) || error.errorCode;
  const text = `${error.errorCode} ${error.errorMessage} AADSTS${error instanceof ServerError ? error.errorNo : ""}`;
  const reason: M365AuthFailure = NO_CONSENT.test(text)
    ? "no-consent"
    : UNKNOWN_TENANT.test(text)
      ? "unknown-tenant"
      : BAD_CREDENTIALS.test(text) || error.errorCode === "invalid_client"
        ? "invalid-credentials"
        : error.errorCode === "unauthorized_client"
          ? "no-consent"
          : error.errorCode === "network_error" || error.errorCode === "endpoints_resolution_error"
            ? "unreachable"
            : "other";
  const advice: Record<M365AuthFailure, string> = {
    "no-consent": "The app is not consented in this tenant: ask a global administrator to grant admin consent.",
    "invalid-credentials": "The client secret or certificate was rejected.",
    "unknown-tenant": "The tenant id is not known to Entra ID.",
    unreachable: "Entra ID could not be reached.",
    other: "Entra ID refused the token request.",
  };
  return new M365AuthError(reason, `${advice[reason]} (${error.errorCode}: ${description})`);
}

function firstLine(text: string | undefined): string {
  return (text ?? "").split(/\r?\n/)[0]?.trim() ?? "";
}
