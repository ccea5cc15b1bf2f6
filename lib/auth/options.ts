// next-auth options: OpenID Connect against the Entra ID authority (the M365 sandbox in embedded mode).
import { readFileSync } from "node:fs";
import type { NextAuthOptions } from "next-auth";
import type { OAuthConfig } from "next-auth/providers/oauth";
import { ConfigError, config, isGuid, required, type Config } from "@/lib/config";
import { authorityUrl } from "@/lib/m365";
import { CLIENT_ASSERTION_TYPE, signClientAssertion, type ClientCertificate } from "./client-assertion";
import { rolesFromClaims } from "./roles";

interface EntraProfile extends Record<string, unknown> {
  sub: string;
  oid?: string;
  name?: string;
  email?: string;
  preferred_username?: string;
  /** The user's home tenant: the admin-consent callback must name this one. */
  tid?: string;
}

type SignInCredential = { clientSecret: string } | { certificate: ClientCertificate };

/**
 * How the sign-in app proves itself: AUTH_CLIENT_SECRET when set, else the certificate (as imports do,
 * it wins over ENTRA_CLIENT_SECRET), else ENTRA_CLIENT_SECRET.
 */
function signInCredential(c: Config): SignInCredential {
  if (c.AUTH_CLIENT_SECRET) return { clientSecret: c.AUTH_CLIENT_SECRET };
  if (c.ENTRA_CLIENT_CERTIFICATE_PATH) {
    return {
      certificate: {
        certificatePem: readFileSync(c.ENTRA_CLIENT_CERTIFICATE_PATH, "utf8"),
        privateKeyPem: readFileSync(required("ENTRA_CLIENT_KEY_PATH", c), "utf8"),
      },
    };
  }
  if (c.ENTRA_CLIENT_SECRET) return { clientSecret: c.ENTRA_CLIENT_SECRET };
  throw new ConfigError(
    "Admin sign-in needs a credential: ENTRA_CLIENT_CERTIFICATE_PATH and ENTRA_CLIENT_KEY_PATH, or ENTRA_CLIENT_SECRET (AUTH_CLIENT_SECRET for a separate sign-in app)",
  );
}

/**
 * Certificate sign-in (private_key_jwt). openid-client 5, next-auth 4's OAuth client, can sign a client
 * assertion itself (`token_endpoint_auth_method: "private_key_jwt"` and a JWKS), but its header carries
 * only `alg` and `kid`, and Entra ID finds the certificate by `x5t`/`x5t#S256` alone (AADSTS700027
 * otherwise; panva/openid-client#667). So the assertion is signed here and sent with the code exchange,
 * the client itself adding only its id ("none"); the ID token is still checked by openid-client.
 */
function certificateSignIn(clientId: string, certificate: ClientCertificate): Partial<OAuthConfig<EntraProfile>> {
  return {
    client: { token_endpoint_auth_method: "none" },
    token: {
      async request({ client, params, checks, provider }) {
        const tokenEndpoint = client.issuer.metadata.token_endpoint;
        if (!tokenEndpoint) throw new Error("Entra ID's OpenID configuration names no token endpoint");
        const assertion = await signClientAssertion(certificate, clientId, tokenEndpoint);
        const tokens = await client.callback(provider.callbackUrl, params, checks, {
          exchangeBody: { client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: assertion },
        });
        return { tokens };
      },
    },
  };
}

function entraProvider(c: Config): OAuthConfig<EntraProfile> {
  const issuer = `${authorityUrl(required("ENTRA_TENANT_ID", c), c.ENTRA_AUTHORITY_HOST)}/v2.0`;
  // The sign-in app registration; a deployment with one registration for both uses ENTRA_CLIENT_*.
  const clientId = c.AUTH_CLIENT_ID ?? required("ENTRA_CLIENT_ID", c);
  const credential = signInCredential(c);
  return {
    id: "entra",
    name: "Microsoft Entra ID",
    type: "oauth",
    // `?appid=` makes discovery name the app's own signing keys when it has them (claims mapping), as
    // next-auth's Azure AD provider does; without them it names the tenant's keys as usual.
    wellKnown: `${issuer}/.well-known/openid-configuration?appid=${encodeURIComponent(clientId)}`,
    clientId,
    ...("certificate" in credential
      ? certificateSignIn(clientId, credential.certificate)
      : { clientSecret: credential.clientSecret }),
    authorization: { params: { scope: "openid profile email" } },
    idToken: true,
    checks: ["pkce", "state"],
    profile(profile) {
      return {
        id: profile.oid ?? profile.sub,
        name: profile.name ?? null,
        email: profile.email ?? profile.preferred_username ?? null,
      };
    },
  };
}

/**
 * How long one sign-in lasts, however often its session cookie is renewed. Roles come from the ID token
 * at sign-in only, so a role taken away in Entra applies at the next sign-in, at most this long after.
 */
export const SIGN_IN_LIFETIME_SECONDS = 8 * 60 * 60;

/** Whether a session token's sign-in is recent enough to act on (tokens from before `signedInAt` are not). */
export function signInIsCurrent(token: { signedInAt?: number }, nowMs = Date.now()): boolean {
  return typeof token.signedInAt === "number" && nowMs / 1000 - token.signedInAt < SIGN_IN_LIFETIME_SECONDS;
}

/** Whether a sign-in's tenant (`tid`) is the configured one; a tenant configured by its domain is left to the issuer check. */
export function signedInFrom(configured: string | undefined, tid: string | undefined): boolean {
  if (!configured || !isGuid(configured)) return true;
  return tid !== undefined && tid.toLowerCase() === configured.toLowerCase();
}

let cached: NextAuthOptions | undefined;

/** Built on first use so that a build without the Entra settings still succeeds. */
export function authOptions(): NextAuthOptions {
  cached ??= authOptionsFor(config());
  return cached;
}

/** The options for a configuration (tests build their own). */
export function authOptionsFor(c: Config): NextAuthOptions {
  // next-auth 4 derives its callback URLs from NEXTAUTH_URL; APP_URL is the product's one name for it.
  process.env.NEXTAUTH_URL ??= c.APP_URL;
  return {
    secret: required("NEXTAUTH_SECRET", c),
    providers: [entraProvider(c)],
    session: { strategy: "jwt", maxAge: SIGN_IN_LIFETIME_SECONDS },
    pages: { signIn: "/signin", error: "/signin" },
    callbacks: {
      // The issuer already names one tenant; by its id, the sign-in must also come from it.
      signIn: ({ profile }) => signedInFrom(c.ENTRA_TENANT_ID, (profile as EntraProfile | undefined)?.tid),
      jwt({ token, profile }) {
        if (profile) {
          const claims = profile as EntraProfile;
          token.oid = claims.oid ?? claims.sub;
          token.roles = rolesFromClaims(claims);
          token.tid = claims.tid;
          token.email = claims.email ?? claims.preferred_username ?? token.email;
          token.signedInAt = Math.floor(Date.now() / 1000);
        }
        return token;
      },
      session({ session, token }) {
        // A sign-in past its lifetime is no one: pages send the browser to sign in again.
        if (!signInIsCurrent(token)) return { expires: session.expires };
        session.user = {
          name: token.name ?? "",
          email: token.email ?? "",
          oid: token.oid ?? token.sub ?? "",
          roles: token.roles ?? [],
          tid: token.tid,
        };
        return session;
      },
    },
  };
}
