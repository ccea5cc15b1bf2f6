// The one place that turns a request into a signed-in user. Every page, server action and route handler
// goes through requireSession/requireAdmin (pages, actions) or sessionForRequest (route handlers). Every
// member of the tenant can sign in (unless the app requires assignment): only the reader or admin app
// role lets anyone see anything.
import { getServerSession } from "next-auth";
import { redirect } from "next/navigation";
import { config } from "@/lib/config";
import { authOptions } from "./options";
import { canRead, isAdmin, type SessionUser } from "./roles";

/** Where a reader is sent when they try to change something: the dashboard, with its "only admins" notice. */
export const ACCESS_DENIED_PATH = "/connectors?denied=1";
/** Where a signed-in user with neither app role is sent: the "no access" page, which shows nothing else. */
export const NO_ACCESS_PATH = "/no-access";

export async function currentUser(): Promise<SessionUser | null> {
  const session = await getServerSession(authOptions());
  return session?.user?.oid ? session.user : null;
}

export function userIsAdmin(user: SessionUser): boolean {
  return isAdmin(user, config().ADMIN_ROLE);
}

/** Whether the user holds the reader or the admin role. */
export function userCanRead(user: SessionUser): boolean {
  const { ADMIN_ROLE, READER_ROLE } = config();
  return canRead(user, { admin: ADMIN_ROLE, reader: READER_ROLE });
}

/**
 * Signed-in user who may read (the reader or admin role). Signed out: a redirect to the sign-in page;
 * neither role: a redirect to the "no access" page.
 */
export async function requireSession(): Promise<SessionUser> {
  const user = await currentUser();
  if (!user) redirect("/signin");
  if (!userCanRead(user)) redirect(NO_ACCESS_PATH);
  return user;
}

/**
 * Signed-in user holding the admin app role. A reader is redirected to the "only admins" notice, anyone
 * without a role to the "no access" page, before anything changes; a server action answers that with a
 * 303 and `x-action-redirect`, which tells a refusal apart from a request that failed for another reason
 * (never a silent no-op).
 */
export async function requireAdmin(): Promise<SessionUser> {
  const user = await requireSession();
  if (!userIsAdmin(user)) redirect(ACCESS_DENIED_PATH);
  return user;
}

type Access = { user: SessionUser; denied?: never } | { user?: never; denied: Response };

/** For route handlers: the user (a reader at least; an admin with `admin: true`), or the 401/403 response to send instead. */
export async function sessionForRequest(options: { admin: boolean }): Promise<Access> {
  const user = await currentUser();
  if (!user) return { denied: Response.json({ error: "Sign in first." }, { status: 401 }) };
  const { ADMIN_ROLE, READER_ROLE } = config();
  if (!userCanRead(user)) {
    return {
      denied: Response.json({ error: `The ${READER_ROLE} or ${ADMIN_ROLE} role is required.` }, { status: 403 }),
    };
  }
  if (options.admin && !userIsAdmin(user)) {
    return { denied: Response.json({ error: `The ${ADMIN_ROLE} role is required.` }, { status: 403 }) };
  }
  return { user };
}
