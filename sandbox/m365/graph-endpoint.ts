import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { SandboxContext } from "./context";
import type { GraphCall, GraphRequest } from "./graph-types";
import { graphError } from "./graph-types";
import { handleBatch } from "./graph-batch";
import { handleGraphRequest } from "./graph-router";
import { writeGraphResponse } from "./graph-http";
import { BodyTooLargeError, readBody } from "./http";
import type { Throttle } from "./throttle";
import { hasConsentedRoles, verifyGraphToken } from "./tokens";

/** Graph allows 4 MB per request; bigger attachments go through upload sessions. */
export const MAX_REQUEST_BYTES = 4 * 1024 * 1024;

/** https://graph.microsoft.com/v1.0/... : bearer token, then one request or a $batch. */
export async function handleGraphHttp(
  ctx: SandboxContext,
  throttle: Throttle,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<void> {
  const ids = { requestId: randomUUID(), clientRequestId: String(req.headers["client-request-id"] ?? randomUUID()) };
  ctx.state.stats.httpRequests += 1;
  let body: Buffer;
  try {
    body = await readBody(req, MAX_REQUEST_BYTES);
  } catch (error) {
    if (!(error instanceof BodyTooLargeError)) throw error;
    return writeGraphResponse(
      res,
      graphError(
        413,
        "RequestEntityTooLarge",
        "The request body exceeds the maximum of 4 MB. Use an upload session for large attachments.",
        ids,
      ),
      ids,
    );
  }
  const header = req.headers.authorization ?? "";
  const token = /^Bearer\s+(.+)$/i.exec(header)?.[1];
  const check = await verifyGraphToken(ctx.signingKey, token);
  if (!check.ok || check.claims.tenantId !== ctx.state.options.tenantId) {
    const message = check.ok ? "Access token validation failure. Invalid tenant." : check.message;
    return writeGraphResponse(
      res,
      graphError(401, "InvalidAuthenticationToken", message, ids, {
        "WWW-Authenticate": `Bearer realm="", authorization_uri="${ctx.origin()}/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"`,
      }),
      ids,
    );
  }
  // A token keeps the roles it was issued with: one from before consent (or before it took effect) is
  // refused although the tenant has consented since. Consent withdrawn takes effect at once here.
  const roles =
    !check.claims.delegated && ctx.state.consent.get(check.claims.tenantId) === true ? check.claims.roles : [];
  const call: GraphCall = { ctx, appId: check.claims.appId, tenantId: check.claims.tenantId, roles, ...ids };
  const consented = hasConsentedRoles(roles);
  const headers = Object.fromEntries(
    Object.entries(req.headers).map(([k, v]) => [k.toLowerCase(), Array.isArray(v) ? v.join(", ") : (v ?? "")]),
  );
  const request: GraphRequest = {
    method: req.method ?? "GET",
    path: url.pathname.slice("/v1.0".length) || "/",
    query: url.searchParams,
    headers,
    body,
    bodySize: body.length,
  };

  if (request.path.toLowerCase() === "/$batch" && request.method === "POST") {
    const response = await handleBatch(call, request, (inner) =>
      handleGraphRequest({ ...call, requestId: randomUUID() }, throttle, inner, consented),
    );
    return writeGraphResponse(res, response, ids);
  }
  writeGraphResponse(res, await handleGraphRequest(call, throttle, request, consented), ids);
}
