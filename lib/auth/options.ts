// next-auth options: OpenID Connect against the Entra ID authority (the M365 sandbox in embedded mode).
import type { NextAuthOptions } from "next-auth";
import type { OAuthConfig } from "next-auth/providers/oauth";
import { config, required } from "@/lib/config";
import { authorityUrl } from "./authority";
import { rolesFromClaims } from "./roles";

interface EntraProfile extends Record<string, unknown> {
  sub: string;
  oid?: string;
  name?: string;
  email?: string;
  preferred_username?: string;
}

function entraProvider(): OAuthConfig<EntraProfile> {
  const issuer = `${authorityUrl(required("ENTRA_TENANT_ID"))}/v2.0`;
  return {
    id: "entra",
    name: "Microsoft Entra ID",
    type: "oauth",
    wellKnown: `${issuer}/.well-known/openid-configuration`,
    // The sign-in app registration; a deployment with one registration for both uses ENTRA_CLIENT_*.
    clientId: config().AUTH_CLIENT_ID ?? required("ENTRA_CLIENT_ID"),
    clientSecret: config().AUTH_CLIENT_SECRET ?? required("ENTRA_CLIENT_SECRET"),
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

let cached: NextAuthOptions | undefined;

/** Built on first use so that a build without the Entra settings still succeeds. */
export function authOptions(): NextAuthOptions {
  // next-auth 4 derives its callback URLs from NEXTAUTH_URL; APP_URL is the product's one name for it.
  process.env.NEXTAUTH_URL ??= config().APP_URL;
  cached ??= {
    secret: required("NEXTAUTH_SECRET"),
    providers: [entraProvider()],
    session: { strategy: "jwt", maxAge: 8 * 60 * 60 },
    pages: { signIn: "/signin", error: "/signin" },
    callbacks: {
      jwt({ token, profile }) {
        if (profile) {
          const claims = profile as EntraProfile;
          token.oid = claims.oid ?? claims.sub;
          token.roles = rolesFromClaims(claims);
          token.email = claims.email ?? claims.preferred_username ?? token.email;
        }
        return token;
      },
      session({ session, token }) {
        session.user = {
          name: token.name ?? "",
          email: token.email ?? "",
          oid: token.oid ?? token.sub ?? "",
          roles: token.roles ?? [],
        };
        return session;
      },
    },
  };
  return cached;
}
