// Role checks shared by pages, server actions and route handlers. Pure functions: no session lookup here.
import { z } from "zod";

/** The signed-in person as the app sees them, built from the ID token claims. */
export interface SessionUser {
  name: string;
  email: string;
  /** Entra object id: stable across renames, recorded in audit events. */
  oid: string;
  roles: string[];
  /** Entra tenant id (`tid` claim) the user signed in from; absent in sessions older than the claim's use. */
  tid?: string;
}

const rolesClaim = z.array(z.string()).catch([]);

/** App roles from an ID token's `roles` claim; anything malformed counts as no role. */
export function rolesFromClaims(claims: Record<string, unknown>): string[] {
  return rolesClaim.parse(claims.roles ?? []);
}

export function isAdmin(user: Pick<SessionUser, "roles">, adminRole: string): boolean {
  return user.roles.includes(adminRole);
}

/** Whether the user may look at connectors: the reader role, or the admin role (which implies it). */
export function canRead(user: Pick<SessionUser, "roles">, roles: { admin: string; reader: string }): boolean {
  return isAdmin(user, roles.admin) || user.roles.includes(roles.reader);
}

/** How a person is named in audit events and "accepted by" fields. */
export function actorName(user: Pick<SessionUser, "email" | "name" | "oid">): string {
  return user.email || user.name || user.oid;
}
