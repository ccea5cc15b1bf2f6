export type SftpErrorCode =
  | "invalid_settings"
  | "blocked_host" // a loopback, link-local or private address while those are not allowed
  | "host_not_found"
  | "connection_refused"
  | "timeout"
  | "network" // reset, unreachable and the like
  | "handshake_failed" // not an SSH server, or no algorithm in common
  | "host_key_unconfirmed" // no pinned host key yet: only a probe may connect
  | "host_key_mismatch"
  | "auth_rejected"
  | "not_found"
  | "permission_denied"
  | "sftp_failed" // any other SFTP status, or the server closed the connection
  | "aborted";

/**
 * Every failure of the SFTP delivery, worded for an admin. Messages never hold a password, a key or
 * what the server said; the server's own words (or the library's) stay in `detail`, for logs only.
 */
export class SftpError extends Error {
  override name = "SftpError";
  readonly code: SftpErrorCode;
  readonly detail: string | undefined;

  constructor(code: SftpErrorCode, message: string, options: { detail?: string; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.code = code;
    this.detail = options.detail;
  }
}

/** The server presented a host key other than the pinned one: treated as an attack until an admin confirms it. */
export class HostKeyMismatchError extends SftpError {
  override name = "HostKeyMismatchError";
  readonly expected: string;
  readonly presented: string;

  constructor(input: { host: string; expected: string; presented: string }) {
    super(
      "host_key_mismatch",
      `The SFTP server ${input.host} presented a different host key: it changed from ${input.expected} to ` +
        `${input.presented}. A changed host key is treated as an attack (someone in the middle) until an ` +
        `admin confirms the new one; nothing was sent to the server.`,
    );
    this.expected = input.expected;
    this.presented = input.presented;
  }
}
