/** Why Entra ID refused to issue an app-only token, in words an administrator can act on. */
export type M365AuthFailure = "no-consent" | "invalid-credentials" | "unknown-tenant" | "unreachable" | "other";

export class M365AuthError extends Error {
  override readonly name = "M365AuthError";
  /**
   * The app's mail access is meant to come from Exchange RBAC for Applications and no mailbox has let
   * it in yet: the role assignment is missing, or not in effect (Exchange takes up to 2 hours).
   */
  readonly exchangeRbac: boolean;
  constructor(
    readonly reason: M365AuthFailure,
    message: string,
    options: { exchangeRbac?: boolean } = {},
  ) {
    super(message);
    this.exchangeRbac = options.exchangeRbac ?? false;
  }
}

/** A Graph answer that retrying will not change (4xx other than 429), e.g. 403 ErrorAccessDenied. */
export class GraphRequestError extends Error {
  override readonly name = "GraphRequestError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(`Graph ${status} ${code}: ${message}`);
  }
}

/** The scheduler spent every attempt it may spend on one request (throttling, 5xx or network errors). */
export class GraphRetriesExhaustedError extends Error {
  override readonly name = "GraphRetriesExhaustedError";
  constructor(
    readonly mailbox: string,
    readonly attempts: number,
    readonly lastStatus: number | "network-error",
  ) {
    super(`Graph request for mailbox ${mailbox} failed after ${attempts} attempts (last: ${lastStatus})`);
  }
}

/** Why one mailbox cannot take an item; it concerns that mailbox (or item) only, and retrying will not help. */
export type MailboxProblem = "access-policy" | "no-mailbox" | "mailbox-full" | "too-large";

/** A refusal that concerns one mailbox or one item, never the tenant: the item FAILS with this message. */
export class MailboxUnavailableError extends Error {
  override readonly name = "MailboxUnavailableError";
  constructor(
    readonly problem: MailboxProblem,
    message: string,
  ) {
    super(message);
  }
}

/** Exchange Online's default MaxReceiveSize (36 MB); admins may raise it per mailbox up to 150 MB. */
export const DEFAULT_MAX_RECEIVE_BYTES = 36 * 1024 * 1024;
export const MAX_RECEIVE_BYTES_CEILING = 150 * 1024 * 1024;

export function megabytes(bytes: number): string {
  return `${Math.round((bytes / (1024 * 1024)) * 10) / 10} MB`;
}

/** The reason recorded for an item larger than its mailbox accepts. */
export function tooLargeMessage(size: number | undefined, limit: number | undefined): string {
  const what = size === undefined ? "The message" : `The message (about ${megabytes(size)} with its attachments)`;
  const max =
    limit === undefined
      ? "the mailbox's maximum receive size"
      : `the mailbox's maximum receive size of ${megabytes(limit)}`;
  return (
    `${what} is larger than ${max} (Exchange Online's default is 36 MB). An Exchange administrator can raise it ` +
    "with Set-Mailbox <mailbox> -MaxReceiveSize <size> (at most 150 MB)."
  );
}
