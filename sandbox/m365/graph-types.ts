import type { SandboxContext } from "./context";

export type GraphRequest = {
  method: string;
  /** Path below /v1.0, e.g. /users/x/messages. */
  path: string;
  query: URLSearchParams;
  /** Lower-case header names. */
  headers: Record<string, string>;
  body: Buffer;
  /** Bytes of the body as sent (for a $batch's JSON sub-request, its JSON text's). */
  bodySize: number;
  /** A JSON sub-request's body of a $batch, as the batch's own parse read it (`body` holds its bytes). */
  json?: unknown;
};

export type GraphResponse = {
  status: number;
  headers: Record<string, string>;
  body?: unknown;
  file?: { path: string; contentType: string; size: number };
};

export type GraphCall = {
  ctx: SandboxContext;
  appId: string;
  tenantId: string;
  /** The application permissions of the token, when the tenant's consent stands (else none). */
  roles: string[];
  requestId: string;
  clientRequestId: string;
};

export function graphError(
  status: number,
  code: string,
  message: string,
  call: Pick<GraphCall, "requestId" | "clientRequestId">,
  headers: Record<string, string> = {},
): GraphResponse {
  return {
    status,
    headers,
    body: {
      error: {
        code,
        message,
        innerError: {
          date: new Date().toISOString().replace(/\.\d+Z$/, ""),
          "request-id": call.requestId,
          "client-request-id": call.clientRequestId,
        },
      },
    },
  };
}

export function ok(body: unknown, status = 200, headers: Record<string, string> = {}): GraphResponse {
  return { status, headers, body };
}
