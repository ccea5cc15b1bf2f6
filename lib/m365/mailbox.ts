import { send, sendOk, type GraphContext } from "./context";
import { MailboxUnavailableError } from "./errors";
import { errorOf, filterQuery, graphError, isSuccess, noMailboxError, odataString } from "./graph";

export const SYMPHONY_FOLDER_NAME = "Symphony";

/** Directory lookups are not mailbox requests; they are paced under their own scheduler key. */
const DIRECTORY = "directory";

/** The reason of a lookup that found no directory user for the address. */
export const MAILBOX_NOT_FOUND = "mailbox not found";

/**
 * `found: false` with "mailbox not found" (no such user), or with the reason the user has no mailbox
 * (unlicensed, on-premises or guest: Graph 404 MailboxNotEnabledForRESTAPI).
 */
export type MailboxLookup =
  | {
      found: true;
      address: string;
      userId: string;
      /** The mailbox's primary SMTP address (the user's `mail`, else its UPN): what imported items show. */
      primaryAddress: string;
    }
  | { found: false; address: string; reason: string };

type User = { id: string; mail?: string | null; userPrincipalName?: string | null };

function found(address: string, user: User): MailboxLookup {
  return { found: true, address, userId: user.id, primaryAddress: user.mail || user.userPrincipalName || address };
}

/**
 * Finds the Entra user owning `address` (as UPN, then as primary mail, then as an alias), then checks
 * that the user has an Exchange Online mailbox: a directory user is not a mailbox.
 */
export async function lookUpMailbox(ctx: GraphContext, address: string): Promise<MailboxLookup> {
  const user = await lookUpUser(ctx, address);
  if (!user.found) return user;
  const noMailbox = await mailboxProblem(ctx, user.userId);
  return noMailbox ? { found: false, address, reason: `${address}: ${noMailbox}` } : user;
}

/**
 * Why `userId` has no mailbox, or undefined when it has one. A mailbox outside the app's access policy
 * or a full one is still a mailbox: its items are attempted and FAIL with that reason.
 */
async function mailboxProblem(ctx: GraphContext, userId: string): Promise<string | undefined> {
  const refusal = await mailboxRefusal(ctx, userId);
  return refusal?.problem === "no-mailbox" ? refusal.message : undefined;
}

/**
 * Why Exchange refuses the app `userId`'s Inbox (no mailbox, outside the access policy, ...), or
 * undefined when the app may read it. Tenant-wide refusals (no consent) are thrown.
 */
export async function mailboxRefusal(ctx: GraphContext, userId: string): Promise<MailboxUnavailableError | undefined> {
  const response = await send(ctx, userId, {
    method: "GET",
    path: `/users/${encodeURIComponent(userId)}/mailFolders/inbox?$select=id`,
  });
  if (isSuccess(response.status)) return undefined;
  // The user exists (the directory named them): Graph has answered ResourceNotFound "Resource could not
  // be discovered." for their Inbox when they have no mailbox, as well as the REST codes (graphError).
  const { code } = errorOf(response);
  if (response.status === 404 && code === "ResourceNotFound") return noMailboxError(code);
  const error = graphError(response);
  if (error instanceof MailboxUnavailableError) return error;
  throw error;
}

async function lookUpUser(ctx: GraphContext, address: string): Promise<MailboxLookup> {
  const select = "$select=id,mail,userPrincipalName";
  const byUpn = await send(ctx, DIRECTORY, { method: "GET", path: `/users/${encodeURIComponent(address)}?${select}` });
  if (byUpn.status === 200) return found(address, byUpn.body as User);
  // 400 is what Graph answers when the address is not shaped like a UPN at all.
  if (byUpn.status !== 404 && byUpn.status !== 400) throw graphError(byUpn);

  const byMail = await sendOk<{ value: User[] }>(ctx, DIRECTORY, {
    method: "GET",
    path: `/users?${filterQuery(`mail eq ${odataString(address)}`)}&${select}`,
  });
  if (byMail.value[0]) return found(address, byMail.value[0]);

  const byAlias = await sendOk<{ value: User[] }>(ctx, DIRECTORY, {
    method: "GET",
    path: `/users?${filterQuery(`proxyAddresses/any(p:p eq ${odataString(`smtp:${address}`)})`)}&$count=true&${select}`,
    headers: { ConsistencyLevel: "eventual" },
  });
  if (byAlias.value[0]) return found(address, byAlias.value[0]);
  return { found: false, address, reason: MAILBOX_NOT_FOUND };
}

type Folder = { id: string; displayName: string };

/** Inbox/Symphony's id, created when missing; a 409 means another worker created it first. */
export async function findOrCreateSymphonyFolder(ctx: GraphContext, userId: string): Promise<string> {
  const childFolders = `/users/${encodeURIComponent(userId)}/mailFolders/inbox/childFolders`;
  const find = async () => {
    const page = await sendOk<{ value: Folder[] }>(ctx, userId, {
      method: "GET",
      path: `${childFolders}?${filterQuery(`displayName eq ${odataString(SYMPHONY_FOLDER_NAME)}`)}&$select=id,displayName`,
    });
    return page.value[0]?.id;
  };
  const existing = await find();
  if (existing) return existing;
  const created = await send(
    ctx,
    userId,
    { method: "POST", path: childFolders, body: { displayName: SYMPHONY_FOLDER_NAME } },
    // A create whose answer was lost may have worked: look before trying again.
    {
      beforeRetry: async () => ((await find()) ? { status: 409, headers: new Headers(), body: undefined } : undefined),
    },
  );
  if (created.status === 201 || created.status === 200) return (created.body as Folder).id;
  if (created.status !== 409) throw graphError(created);
  const raced = await find();
  if (!raced) throw graphError(created);
  return raced;
}
