import { createHash, createPublicKey, randomUUID } from "node:crypto";
import { SignJWT, decodeProtectedHeader, errors, jwtVerify, type JWTPayload } from "jose";
import type { SigningKey } from "./keys";
import { certificateDer } from "./keys";

export const GRAPH_RESOURCE = "https://graph.microsoft.com";
export const GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000";
export const APP_ROLES_WHEN_CONSENTED = ["Mail.ReadWrite", "User.Read.All"];
export const TOKEN_LIFETIME_SECONDS = 3599;

/** Whether an app-only token carries the permissions consent grants (Graph reads them from the token, not the tenant). */
export function hasConsentedRoles(roles: string[]): boolean {
  return APP_ROLES_WHEN_CONSENTED.every((role) => roles.includes(role));
}

export type AppTokenClaims = { appId: string; tenantId: string; roles: string[] };

export async function issueAppToken(
  key: SigningKey,
  claims: AppTokenClaims,
  lifetimeSeconds = TOKEN_LIFETIME_SECONDS,
): Promise<string> {
  return new SignJWT({
    appid: claims.appId,
    appidacr: "1",
    idtyp: "app",
    oid: servicePrincipalId(claims.appId, claims.tenantId),
    roles: claims.roles,
    tid: claims.tenantId,
    uti: randomUUID(),
    ver: "1.0",
  })
    .setProtectedHeader({ alg: "RS256", typ: "JWT", kid: key.kid })
    .setIssuer(`https://sts.windows.net/${claims.tenantId}/`)
    .setAudience(GRAPH_RESOURCE)
    .setSubject(servicePrincipalId(claims.appId, claims.tenantId))
    .setIssuedAt()
    .setNotBefore("0s")
    .setExpirationTime(Math.floor(Date.now() / 1000) + lifetimeSeconds)
    .sign(key.privateKey);
}

export type IdTokenClaims = {
  issuer: string;
  clientId: string;
  tenantId: string;
  user: { email: string; name: string; roles: string[] };
  nonce?: string;
};

export async function issueIdToken(key: SigningKey, claims: IdTokenClaims): Promise<string> {
  const oid = stableGuid(`user:${claims.user.email.toLowerCase()}`);
  return new SignJWT({
    name: claims.user.name,
    oid,
    preferred_username: claims.user.email,
    email: claims.user.email,
    tid: claims.tenantId,
    ...(claims.user.roles.length > 0 ? { roles: claims.user.roles } : {}),
    ...(claims.nonce ? { nonce: claims.nonce } : {}),
    uti: randomUUID(),
    ver: "2.0",
  })
    .setProtectedHeader({ alg: "RS256", typ: "JWT", kid: key.kid })
    .setIssuer(claims.issuer)
    .setAudience(claims.clientId)
    .setSubject(createHash("sha256").update(`${oid}:${claims.clientId}`).digest("base64url").slice(0, 43))
    .setIssuedAt()
    .setNotBefore("0s")
    .setExpirationTime("1h")
    .sign(key.privateKey);
}

export type GraphTokenCheck =
  { ok: true; claims: AppTokenClaims & { delegated: boolean } } | { ok: false; message: string };

/**
 * Tokens whose signature was verified, by signing key: the same string always verifies the same way,
 * and an RSA verification per request was a tenth of the sandbox's CPU. Their lifetime is still
 * checked on every request.
 */
const verified = new WeakMap<SigningKey, Map<string, JWTPayload>>();
const VERIFIED_KEPT = 1_000;

/** The payload of a token verified before that is still within its lifetime. */
function verifiedBefore(key: SigningKey, token: string): JWTPayload | undefined {
  const payload = verified.get(key)?.get(token);
  const now = Math.floor(Date.now() / 1000);
  if (!payload || (payload.exp ?? Infinity) <= now || (payload.nbf ?? 0) > now) return undefined;
  return payload;
}

function rememberVerified(key: SigningKey, token: string, payload: JWTPayload): void {
  const tokens = verified.get(key) ?? new Map<string, JWTPayload>();
  if (tokens.size >= VERIFIED_KEPT) tokens.clear();
  verified.set(key, tokens.set(token, payload));
}

/** Checks a bearer token the way Graph does: our signature, Graph audience, lifetime. */
export async function verifyGraphToken(key: SigningKey, token: string | undefined): Promise<GraphTokenCheck> {
  if (!token) return { ok: false, message: "Access token is empty." };
  let payload = verifiedBefore(key, token);
  if (!payload) {
    try {
      ({ payload } = await jwtVerify(token, key.publicKey, { algorithms: ["RS256"] }));
    } catch (error) {
      if (error instanceof errors.JWTExpired)
        return { ok: false, message: "Lifetime validation failed, the token is expired." };
      return { ok: false, message: "Access token validation failure. Invalid signature." };
    }
    rememberVerified(key, token, payload);
  }
  const aud = payload.aud;
  if (aud !== GRAPH_RESOURCE && aud !== GRAPH_APP_ID && aud !== `${GRAPH_RESOURCE}/`) {
    return { ok: false, message: "Access token validation failure. Invalid audience." };
  }
  return {
    ok: true,
    claims: {
      appId: stringClaim(payload.appid) ?? stringClaim(payload.azp) ?? "",
      tenantId: stringClaim(payload.tid) ?? "",
      roles: Array.isArray(payload.roles) ? payload.roles.map(String) : [],
      delegated: typeof payload.scp === "string",
    },
  };
}

/** A claim of a token we signed ourselves: a string, or absent. */
function stringClaim(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

export type AssertionCheck = { ok: true } | { ok: false; aadsts: number; message: string };

/**
 * Checks a client_assertion (RFC 7523) against the app's registered certificate: thumbprint in
 * x5t (SHA-1) or x5t#S256, RS256/PS256 signature, iss = sub = client id, audience = token endpoint.
 */
export async function verifyClientAssertion(
  assertion: string,
  certificatePem: string,
  clientId: string,
  acceptsAudience: (aud: string) => boolean,
): Promise<AssertionCheck> {
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(assertion);
  } catch {
    return { ok: false, aadsts: 50027, message: "JWT token is invalid or malformed." };
  }
  const der = certificateDer(certificatePem);
  const x5t = createHash("sha1").update(der).digest("base64url");
  const x5tS256 = createHash("sha256").update(der).digest("base64url");
  const sent = header["x5t#S256"] ?? header.x5t;
  if (typeof sent !== "string" || (sent !== x5t && sent !== x5tS256)) {
    return {
      ok: false,
      aadsts: 700027,
      message: `The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '${typeof sent === "string" ? sent : ""}']`,
    };
  }
  try {
    // Entra tolerates clock skew; msal-node even rounds nbf up to the next second.
    const { payload } = await jwtVerify(assertion, createPublicKey(certificatePem), {
      algorithms: ["RS256", "PS256"],
      clockTolerance: 300,
    });
    if (payload.iss !== clientId || payload.sub !== clientId) {
      return {
        ok: false,
        aadsts: 700023,
        message: "Client assertion audience claim does not match Realm issuer or iss/sub is not the client id.",
      };
    }
    const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud ?? ""];
    if (!audiences.some(acceptsAudience)) {
      return {
        ok: false,
        aadsts: 700212,
        message: `Client assertion audience claim does not match the token endpoint. Audience: '${audiences.join(",")}'.`,
      };
    }
    return { ok: true };
  } catch (error) {
    if (error instanceof errors.JWTExpired || error instanceof errors.JWTClaimValidationFailed) {
      return { ok: false, aadsts: 700024, message: "Client assertion is not within its valid time range." };
    }
    return { ok: false, aadsts: 7000274, message: "Client assertion contains an invalid signature." };
  }
}

/** Deterministic GUID from a seed, so the same user or service principal keeps its object id across restarts. */
export function stableGuid(seed: string): string {
  const h = createHash("sha256").update(seed).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function servicePrincipalId(appId: string, tenantId: string): string {
  return stableGuid(`sp:${appId}:${tenantId}`);
}

/** The Graph access token of a signed-in user (authorization code flow); Graph mail refuses it. */
export async function issueDelegatedToken(
  key: SigningKey,
  claims: { clientId: string; tenantId: string; email: string; scope: string },
): Promise<string> {
  return new SignJWT({
    appid: claims.clientId,
    idtyp: "user",
    oid: stableGuid(`user:${claims.email.toLowerCase()}`),
    scp: claims.scope,
    tid: claims.tenantId,
    upn: claims.email,
    ver: "1.0",
  })
    .setProtectedHeader({ alg: "RS256", typ: "JWT", kid: key.kid })
    .setIssuer(`https://sts.windows.net/${claims.tenantId}/`)
    .setAudience(GRAPH_RESOURCE)
    .setIssuedAt()
    .setNotBefore("0s")
    .setExpirationTime(Math.floor(Date.now() / 1000) + TOKEN_LIFETIME_SECONDS)
    .sign(key.privateKey);
}
