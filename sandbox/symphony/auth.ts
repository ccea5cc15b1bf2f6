// RSA JWT login as Symphony's pod and key manager do it, and the tokens they hand out.
import { createHmac, randomBytes } from "node:crypto";
import { errors, importSPKI, jwtVerify, type CryptoKey } from "jose";

const MAX_LIFETIME_SECONDS = 300;

export type TokenKind = "sessionToken" | "keyManagerToken";

export type Tokens = {
  issue(kind: TokenKind): string;
  valid(kind: TokenKind, token: string | undefined): boolean;
  revokeAll(): void;
};

/**
 * Session tokens are JWTs, as the BDKs expect: they read the `canUseSimplifiedKeyDelivery` claim
 * without checking the signature (symphony-bdk-java JwtHelper.isSkdEnabled). The claim is present
 * only when the pod offers simplified key delivery. Key manager tokens are opaque.
 */
export function tokenStore(session: { subject: string; simplifiedKeyDelivery: boolean }): Tokens {
  const issued = { sessionToken: new Set<string>(), keyManagerToken: new Set<string>() };
  const secret = randomBytes(32);
  const part = (json: object) => Buffer.from(JSON.stringify(json)).toString("base64url");
  const sessionJwt = () => {
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      sub: session.subject,
      iat: now,
      exp: now + 14 * 86_400,
      jti: randomBytes(16).toString("hex"),
      ...(session.simplifiedKeyDelivery ? { canUseSimplifiedKeyDelivery: true } : {}),
    };
    const unsigned = `${part({ alg: "HS512", typ: "JWT" })}.${part(claims)}`;
    return `${unsigned}.${createHmac("sha512", secret).update(unsigned).digest("base64url")}`;
  };
  return {
    issue(kind) {
      const token = kind === "sessionToken" ? sessionJwt() : randomBytes(64).toString("hex");
      issued[kind].add(token);
      return token;
    },
    valid: (kind, token) => token !== undefined && issued[kind].has(token),
    revokeAll() {
      issued.sessionToken.clear();
      issued.keyManagerToken.clear();
    },
  };
}

export type LoginResult = { ok: true } | { ok: false; message: string };

export async function importBotKey(publicKeyPem: string): Promise<CryptoKey> {
  return importSPKI(publicKeyPem, "RS512");
}

/**
 * Checks the JWT: RS512 signature by the bot's key, sub = the bot's username, exp present, not past, at
 * most 5 minutes ahead, all by the server's clock `now` (epoch ms).
 */
export async function verifyLoginJwt(
  jwt: string,
  key: CryptoKey,
  username: string,
  now = Date.now(),
): Promise<LoginResult> {
  try {
    const { payload } = await jwtVerify(jwt, key, {
      algorithms: ["RS512"],
      requiredClaims: ["exp", "sub"],
      currentDate: new Date(now),
    });
    if (payload.sub !== username) return { ok: false, message: "Unknown user in token subject" };
    if (payload.exp! - now / 1000 > MAX_LIFETIME_SECONDS)
      return { ok: false, message: "Token expiration is more than 5 minutes ahead" };
    return { ok: true };
  } catch (error) {
    if (error instanceof errors.JWTExpired) return { ok: false, message: "Token has expired" };
    if (error instanceof errors.JWSSignatureVerificationFailed)
      return { ok: false, message: "Invalid token signature" };
    if (error instanceof errors.JWTClaimValidationFailed)
      return { ok: false, message: `Invalid token claim: ${error.claim}` };
    return { ok: false, message: "Invalid token" };
  }
}
