import fs from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { randomUUID } from "node:crypto";
import type { SandboxContext } from "./context";
import type { GraphResponse } from "./graph-types";
import { graphError } from "./graph-types";
import { newId } from "./state";
import type { Throttle } from "./throttle";
import { BodyTooLargeError, readBody } from "./http";
import { writeGraphResponse } from "./graph-http";
import { encodedSize, messageSize } from "./mailbox-policy";

export const MAX_CHUNK_BYTES = 4 * 1024 * 1024;
export const CHUNK_MULTIPLE_BYTES = 320 * 1024;

/**
 * The pre-authenticated upload URL of an attachment upload session (outlook.office.com in reality):
 * PUT byte ranges in order, no Authorization header; 200 + NextExpectedRanges (Outlook REST's
 * PascalCase), 201 + Location at the end; DELETE drops the session. Nothing else is documented on
 * it, so anything else (a GET to ask where the session stands included) answers 405.
 */
export async function handleUpload(
  ctx: SandboxContext,
  throttle: Throttle,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<void> {
  const call = { requestId: randomUUID(), clientRequestId: String(req.headers["client-request-id"] ?? randomUUID()) };
  const send = (response: GraphResponse) => writeGraphResponse(res, response, call);
  const session = ctx.state.uploadSessions.get(url.searchParams.get("authtoken") ?? "");
  if (!session || session.expiresAt < Date.now()) {
    req.resume();
    return send(graphError(404, "ErrorItemNotFound", "The upload session was not found or has expired.", call));
  }
  if (req.headers.authorization) {
    req.resume();
    return send(
      graphError(
        401,
        "InvalidAuthenticationToken",
        "Do not send an Authorization header to a pre-authenticated upload URL.",
        call,
      ),
    );
  }
  if (req.method === "DELETE") {
    ctx.state.uploadSessions.delete(session.token);
    fs.rmSync(session.file, { force: true });
    return send({ status: 204, headers: {} });
  }
  if (req.method !== "PUT") {
    req.resume();
    return send(graphError(405, "ErrorInvalidRequest", `Method ${req.method} is not allowed on an upload URL.`, call));
  }

  const range = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(String(req.headers["content-range"] ?? ""));
  const length = Number(req.headers["content-length"] ?? NaN);
  const problem = rangeProblem(range, length, session.size, session.received);
  if (problem) {
    req.resume();
    return send(graphError(400, "ErrorInvalidRequest", problem, call));
  }
  const decision = throttle.acquire(session.appId, session.userId, length);
  if (!decision.ok) {
    req.resume();
    ctx.state.stats.throttled[decision.reason] += 1;
    return send(
      graphError(429, "ApplicationThrottled", decision.message, call, {
        "Retry-After": String(decision.retryAfterSeconds),
      }),
    );
  }
  try {
    let chunk: Buffer;
    try {
      chunk = await readBody(req, MAX_CHUNK_BYTES);
    } catch (error) {
      if (error instanceof BodyTooLargeError)
        return send(
          graphError(413, "RequestEntityTooLarge", `A chunk may carry at most ${MAX_CHUNK_BYTES} bytes.`, call),
        );
      throw error;
    }
    if (chunk.length !== length) {
      return send(
        graphError(
          400,
          "ErrorInvalidRequest",
          `The body has ${chunk.length} bytes but Content-Length says ${length}.`,
          call,
        ),
      );
    }
    // Exchange refuses the bytes that take the message past the mailbox's MaxReceiveSize as they arrive,
    // not the session (microsoft-graph-docs#15579: "ErrorMessageSizeExceeded after 39 MB ... albeit the
    // file size is 43 MB"). Its HTTP status is not documented: 400 here, so a client must read the code.
    const holder = ctx.state.messages.get(session.messageId);
    const owner = holder && ctx.state.users.get(holder.userId);
    if (
      holder &&
      owner &&
      messageSize(holder) + encodedSize(session.received + chunk.length) > owner.policy.maxReceiveSize
    ) {
      return send(graphError(400, "ErrorMessageSizeExceeded", "The message exceeds the maximum supported size.", call));
    }
    fs.appendFileSync(session.file, chunk);
    session.received += chunk.length;
    if (session.received < session.size) {
      return send({ status: 200, headers: {}, body: sessionStatus(session.expiresAt, session.received) });
    }
    const message = ctx.state.messages.get(session.messageId);
    ctx.state.uploadSessions.delete(session.token);
    if (!message) {
      fs.rmSync(session.file, { force: true });
      return send(graphError(404, "ErrorItemNotFound", "The message of this upload session no longer exists.", call));
    }
    const attachmentId = newId();
    message.attachments.push({
      id: attachmentId,
      name: session.name,
      contentType: session.contentType,
      size: session.size,
      isInline: session.isInline,
      contentId: session.contentId,
      lastModifiedDateTime: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
      file: session.file,
    });
    ctx.state.messages.save(message);
    const location =
      `${ctx.uploadOrigin()}/api/v2.0/Users('${session.userId}@${ctx.state.options.tenantId}')/Messages('${encodeURIComponent(message.id)}')` +
      `/Attachments('${encodeURIComponent(attachmentId)}')`;
    return send({ status: 201, headers: { Location: location } });
  } finally {
    decision.release();
  }
}

/** A chunk's answer as Outlook REST v2.0 gives it: PascalCase, unlike Graph's createUploadSession answer. */
function sessionStatus(expiresAt: number, received: number) {
  return {
    "@odata.context": "https://outlook.office.com/api/v2.0/$metadata#AttachmentSessions/$entity",
    ExpirationDateTime: new Date(expiresAt).toISOString(),
    NextExpectedRanges: [String(received)],
  };
}

/** Content-Range must continue exactly where the last chunk ended, with a chunk size Outlook accepts. */
function rangeProblem(range: RegExpExecArray | null, length: number, size: number, received: number): string | null {
  if (!range) return "The Content-Range header is missing or not of the form 'bytes {start}-{end}/{total}'.";
  const [start, end, total] = [Number(range[1]), Number(range[2]), Number(range[3])];
  if (total !== size)
    return `The total size ${total} in Content-Range does not match the session's attachment size ${size}.`;
  if (start !== received) return `The range must start at byte ${received} (nextExpectedRanges), not ${start}.`;
  if (end < start || end >= size) return `The range ${start}-${end} is outside the attachment (0-${size - 1}).`;
  const chunk = end - start + 1;
  if (!Number.isFinite(length) || length !== chunk)
    return `Content-Length ${length} does not match the Content-Range length ${chunk}.`;
  if (chunk > MAX_CHUNK_BYTES)
    return `A chunk may carry at most ${MAX_CHUNK_BYTES} bytes (4 MB); this one has ${chunk}.`;
  if (end !== size - 1 && chunk % CHUNK_MULTIPLE_BYTES !== 0) {
    return `Every chunk but the last must be a multiple of 320 KiB (${CHUNK_MULTIPLE_BYTES} bytes); this one has ${chunk}.`;
  }
  return null;
}
