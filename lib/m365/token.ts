import { authorityUrl } from "./authority";
import { X509Certificate } from "node:crypto";
import { AuthError, ConfidentialClientApplication, ServerError, type NodeAuthOptions } from "@azure/msal-node";
import { decodeJwt } from "jose";
import { M365AuthError, type M365AuthFailure } from "./errors";
import { M365_CLOUDS, type M365Settings } from "./settings";

/**
 * The app-only scope for a Graph endpoint: `<origin>/.default`. A .default scope must name the Graph
 * host of the cloud the tenant lives in (learn.microsoft.com/graph/sdks/national-clouds), so it
 * follows the configured Graph URL: `https://graph.microsoft.us/v1.0` gives
 * `https://graph.microsoft.us/.default`, the sandbox's URL its own scope.
 */
export function graphScope(graphBaseUrl: string): string {
  return `${new URL(graphBaseUrl).origin}/.default`;
}

/** The worldwide cloud's scope. */
export const GRAPH_SCOPE = graphScope(M365_CLOUDS.worldwide.graphBaseUrl);
const MICROSOFT_AUTHORITY_HOST = "login.microsoftonline.com";

export type TokenProvider = {
  getAccessToken(): Promise<string>;
  /**
   * Forgets the current token (Graph rejected it); the next call asks Entra ID for a new one, past msal's
   * cache. With `rejected`, only when that token is still the current one: requests that were refused
   * together ask for one new token, not one each.
   */
  refresh(rejected?: string): void;
};

/** Tokens are renewed this long before they expire. */
const RENEW_BEFORE_EXPIRY_MS = 5 * 60_000;

/**
 * App-only tokens for Graph from Entra ID. msal caches them; we also keep the current one, because
 * every Graph request asks and msal's cache lookup costs about 0.1 ms of CPU each time.
 */
export function createTokenProvider(settings: M365Settings): TokenProvider {
  const app = new ConfidentialClientApplication({ auth: authOptions(settings) });
  const scopes = [graphScope(settings.graphBaseUrl)];
  let cached: { token: string; renewAt: number } | undefined;
  let pending: Promise<string> | undefined;
  let skipCache = false;

  async function acquire() {
    try {
      const result = await app.acquireTokenByClientCredential({ scopes, skipCache });
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
    refresh(rejected) {
      if (rejected !== undefined && cached?.token !== rejected) return;
      cached = undefined;
      skipCache = true;
    },
  };
}

function authOptions(settings: M365Settings): NodeAuthOptions {
  const host = new URL(settings.authorityHost).host;
  const options: NodeAuthOptions = {
    clientId: settings.clientId,
    authority: authorityUrl(settings.tenantId, settings.authorityHost),
    // A host other than the worldwide one (national cloud, the sandbox) is declared trusted, so msal
    // uses it as given instead of asking login.microsoftonline.com to validate it.
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
/** invalid_resource: the scope's resource has no service principal in the tenant, e.g. another cloud's Graph. */
const UNKNOWN_RESOURCE = /AADSTS500011\b/;

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
  const hint = UNKNOWN_RESOURCE.test(text)
    ? "Entra ID does not know this Graph endpoint in the tenant: check that M365_CLOUD (or GRAPH_BASE_URL) names the tenant's cloud, and that the app is consented."
    : advice[reason];
  return new M365AuthError(reason, `${hint} (${error.errorCode}: ${description})`);
}

function firstLine(text: string | undefined): string {
  return (text ?? "").split(/\r?\n/)[0]?.trim() ?? "";
}

/**
 * The tenant (`tid`) and application permissions (`roles`) of an access token, read without verifying
 * it: Graph verifies it.
 */
export function tokenGrant(token: string): { tenantId: string | undefined; roles: string[] } {
  try {
    const { tid, roles } = decodeJwt(token);
    return {
      tenantId: typeof tid === "string" ? tid : undefined,
      roles: Array.isArray(roles) ? roles.filter((role): role is string => typeof role === "string") : [],
    };
  } catch {
    return { tenantId: undefined, roles: [] };
  }
}
