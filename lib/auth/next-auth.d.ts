import type { SessionUser } from "./roles";

declare module "next-auth" {
  interface Session {
    /** Absent when the sign-in is past its lifetime. */
    user?: SessionUser;
  }
}

declare module "next-auth/jwt" {
  interface JWT {
    oid?: string;
    roles?: string[];
    tid?: string;
    /** When the user signed in (seconds since the epoch); the session ends SIGN_IN_LIFETIME_SECONDS after. */
    signedInAt?: number;
  }
}
