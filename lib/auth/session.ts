// The one place that turns a request into a signed-in user. Every page, server action and route handler
// goes through requireSession/requireAdmin (pages, actions) or sessionForRequest (route handlers).
import { getServerSession } from "next-auth";
import { redirect } from "next/navigation";
import { config } from "@/lib/config";
import { authOptions } from "./options";
import { isAdmin, type SessionUser } from "./roles";

/** Where a signed-in user without the admin role is sent: the dashboard, with its "only admins" notice. */
export const ACCESS_DENIED_PATH = "/connectors?denied=1";

export async function currentUser(): Promise<SessionUser | null> {
  const session = await getServerSession(authOptions());
  return session?.user?.oid ? session.user : null;
}

export function userIsAdmin(user: SessionUser): boolean {
  return isAdmin(user, config().ADMIN_ROLE);
}

/** Signed-in user, or a redirect to the sign-in page. */
export async function requireSession(): Promise<SessionUser> {
  const user = await currentUser();
  if (!user) redirect("/signin");
  return user;
}

/**
 * Signed-in user holding the admin app role. Anyone else is redirected to the "only admins" notice before
 * anything changes; a server action answers that with a 303 and `x-action-redirect`, which tells a refusal
 * apart from a request that failed for another reason (never a silent no-op).
 */
export async function requireAdmin(): Promise<SessionUser> {
  const user = await requireSession();
  if (!userIsAdmin(user)) redirect(ACCESS_DENIED_PATH);
  return user;
}

type Access = { user: SessionUser; denied?: never } | { user?: never; denied: Response };

/** For route handlers: the user, or the 401/403 response to send instead. */
export async function sessionForRequest(options: { admin: boolean }): Promise<Access> {
  const user = await currentUser();
  if (!user) return { denied: Response.json({ error: "Sign in first." }, { status: 401 }) };
  if (options.admin && !userIsAdmin(user)) {
    return { denied: Response.json({ error: `The ${config().ADMIN_ROLE} role is required.` }, { status: 403 }) };
  }
  return { user };
}
