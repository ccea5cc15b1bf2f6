/** Why Entra ID refused to issue an app-only token, in words an administrator can act on. */
export type M365AuthFailure = "no-consent" | "invalid-credentials" | "unknown-tenant" | "unreachable" | "other";

export class M365AuthError extends Error {
  override readonly name = "M365AuthError";
  constructor(
    readonly reason: M365AuthFailure,
    message: string,
  ) {
    super(message);
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
