// RSA JWT login as Symphony's pod and key manager do it, and the tokens they hand out.
import { randomBytes } from "node:crypto";
import { errors, importSPKI, jwtVerify, type CryptoKey } from "jose";

const MAX_LIFETIME_SECONDS = 300;

export type TokenKind = "sessionToken" | "keyManagerToken";

export type Tokens = {
  issue(kind: TokenKind): string;
  valid(kind: TokenKind, token: string | undefined): boolean;
  revokeAll(): void;
};

export function tokenStore(): Tokens {
  const issued = { sessionToken: new Set<string>(), keyManagerToken: new Set<string>() };
  return {
    issue(kind) {
      const token = randomBytes(64).toString("hex");
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

/** Checks the JWT: RS512 signature by the bot's key, sub = the bot's username, exp present, not past, at most 5 minutes ahead. */
export async function verifyLoginJwt(jwt: string, key: CryptoKey, username: string): Promise<LoginResult> {
  try {
    const { payload } = await jwtVerify(jwt, key, { algorithms: ["RS512"], requiredClaims: ["exp", "sub"] });
    if (payload.sub !== username) return { ok: false, message: "Unknown user in token subject" };
    if (payload.exp! - Date.now() / 1000 > MAX_LIFETIME_SECONDS)
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
