/** What went wrong, in terms a caller can branch on. */
export type SymphonyErrorCode =
  | "auth_rejected" // the pod or key manager refused the bot's signed JWT
  | "key_manager_required" // no key manager URL, and the session or the agent cannot do without one
  | "unauthorized" // a call still answered 401 after one re-authentication
  | "forbidden" // missing entitlement (for example the admin role)
  | "not_found"
  | "bad_request"
  | "rate_limited" // 429 still answered after the last attempt
  | "server_error" // 5xx still answered after the last attempt
  | "unexpected_status"
  | "network" // connection refused, DNS failure, TLS error, reset
  | "blocked_host" // a loopback, link-local or private address while those are not allowed
  | "insecure_url" // an http:// URL whose host is on the public internet
  | "redirect" // a 3xx: redirects are never followed
  | "timeout"
  | "invalid_response"; // a body that does not match the schema we rely on

/**
 * Every failure of the Symphony client. The message names the endpoint and the HTTP status; it never
 * repeats the server's body (a foreign server's text is not ours to show: it stays in `serverMessage`
 * for the server's log) and never contains a token, the signed JWT or the private key.
 */
export class SymphonyError extends Error {
  readonly code: SymphonyErrorCode;
  readonly status: number | undefined;
  readonly endpoint: string;
  /** The server's own error message, when it sent one: for server-side logs, never for a page. */
  readonly serverMessage: string | undefined;

  constructor(input: {
    code: SymphonyErrorCode;
    endpoint: string;
    message: string;
    status?: number;
    serverMessage?: string;
    cause?: unknown;
  }) {
    super(`${input.endpoint}: ${input.message}`, { cause: input.cause });
    this.name = "SymphonyError";
    this.code = input.code;
    this.status = input.status;
    this.endpoint = input.endpoint;
    this.serverMessage = input.serverMessage;
  }
}

/** A body longer than the client reads (an `invalid_response`): the caller may ask for less at a time. */
export class ResponseTooLargeError extends SymphonyError {
  readonly maxBytes: number;

  constructor(input: { endpoint: string; status: number; maxBytes: number }) {
    super({
      code: "invalid_response",
      endpoint: input.endpoint,
      status: input.status,
      message: `response larger than ${input.maxBytes} bytes`,
    });
    this.name = "ResponseTooLargeError";
    this.maxBytes = input.maxBytes;
  }
}

export function codeForStatus(status: number): SymphonyErrorCode {
  if (status === 400) return "bad_request";
  if (status === 401) return "unauthorized";
  if (status === 403) return "forbidden";
  if (status === 404) return "not_found";
  if (status === 429) return "rate_limited";
  if (status >= 500) return "server_error";
  return "unexpected_status";
}
