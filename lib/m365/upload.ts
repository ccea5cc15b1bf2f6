import { sendOk } from "./context";
import { attachedNames, attachmentsPath, missingFrom, type AttachmentTarget } from "./attachments";
import { createChunkReader } from "./chunks";
import { MailboxUnavailableError } from "./errors";
import { graphError, isSuccess, type GraphResponse } from "./graph";
import type { ImportAttachment } from "./item";

/** 12 x 320 KiB = 3.75 MiB: Graph wants chunks in multiples of 320 KiB and at most 4 MB. */
export const UPLOAD_CHUNK_BYTES = 12 * 320 * 1024;
const MAX_SESSIONS = 3;
const MAX_RESYNCS = 5;
const PUT_TIMEOUT_MS = 120_000;

type UploadSession = { uploadUrl: string; nextExpectedRanges?: string[] };

/**
 * Attaches a 3-150 MB file through an upload session, streaming it chunk by chunk. Only documented
 * calls touch the upload URL (PUT, and DELETE to drop a session): when an answer names the next byte
 * (nextExpectedRanges, in either casing), that wins; when the session is gone or refuses our range
 * without saying where it stands (a PUT that landed but whose answer was lost), either the last chunk
 * completed the attachment (it is on the message) or the stale session is deleted and a new one
 * starts over.
 */
export async function uploadLargeAttachment(
  target: AttachmentTarget,
  attachment: ImportAttachment,
  all: ImportAttachment[],
) {
  for (let sessionCount = 1; ; sessionCount++) {
    const session = await sendOk<UploadSession>(
      target.ctx,
      target.userId,
      {
        method: "POST",
        path: `${attachmentsPath(target)}/createUploadSession`,
        body: {
          AttachmentItem: {
            attachmentType: "file",
            name: attachment.name,
            size: attachment.size,
            contentType: attachment.contentType,
            isInline: attachment.isInline,
            ...(attachment.contentId ? { contentId: attachment.contentId } : {}),
          },
        },
      },
      { onSent: target.onSent },
    );
    let outcome: UploadOutcome;
    try {
      outcome = await uploadChunks(target, session, attachment);
    } catch (error) {
      await deleteSession(target, session.uploadUrl);
      throw error;
    }
    if (outcome === "done") return;
    if (outcome === "restart") await deleteSession(target, session.uploadUrl);
    const stillMissing = missingFrom(all, await attachedNames(target)).includes(attachment);
    if (!stillMissing) return;
    if (sessionCount >= MAX_SESSIONS)
      throw new Error(
        `upload of attachment "${attachment.name}" lost or had to restart its session ${sessionCount} times`,
      );
  }
}

/**
 * "done"; "session-lost" when the session is gone or its URL refused (401/403/404/410); "restart" when it refused our range
 * without naming the byte it wants (it exists but must be replaced by a new one).
 */
export type UploadOutcome = "done" | "session-lost" | "restart";

/** Sends the attachment's bytes to an open session, each chunk paced by the mailbox's upload byte budget. */
export async function uploadChunks(
  target: AttachmentTarget,
  session: UploadSession,
  attachment: ImportAttachment,
): Promise<UploadOutcome> {
  const { size } = attachment;
  const reader = createChunkReader(() => attachment.open());
  try {
    let next = nextByte(session) ?? 0;
    let resyncs = 0;
    while (next < size) {
      const start = next;
      const chunk = await reader.read(start, Math.min(UPLOAD_CHUNK_BYTES, size - start));
      const response = await target.ctx.scheduler.schedule(
        target.userId,
        () => putChunk(session.uploadUrl, chunk, start, size),
        { onSent: target.onSent, uploadBytes: chunk.length },
      );
      if (response.status === 201) return "done";
      // The mailbox's own refusal, whatever the status: full, or the message past its size limit, which
      // Exchange says as the bytes reach it (microsoft-graph-docs#15579), not when the session opens.
      if (!isSuccess(response.status) && response.status !== 429) {
        const refusal = graphError(response);
        if (refusal instanceof MailboxUnavailableError) throw refusal;
      }
      // The URL carries its own authorisation: a 401 or 403 from it (its token expired or revoked) says
      // the session is unusable, not that the app lost its permission; a new session is opened.
      if ([401, 403].includes(response.status)) return "session-lost";
      if (response.status === 404 || response.status === 410) return "session-lost";
      if (isSuccess(response.status)) {
        const end = start + chunk.length;
        next = nextByte(response.body) ?? end;
        if (next >= size) return "done";
        continue;
      }
      if (![400, 409, 416].includes(response.status)) throw graphError(response);
      // The session expects another range than the one we sent. Nothing documented asks an upload URL
      // where it stands (only PUT and DELETE are): without nextExpectedRanges in this answer, start over.
      const expected = nextByte(response.body);
      if (expected === undefined) return "restart";
      if (++resyncs > MAX_RESYNCS) throw graphError(response);
      next = expected;
    }
    return "done";
  } finally {
    reader.close();
  }
}

/** A chunk PUT goes straight to the upload URL, which carries its own authorisation: no bearer token. */
async function putChunk(uploadUrl: string, chunk: Buffer, start: number, size: number): Promise<GraphResponse> {
  const response = await fetch(uploadUrl, {
    method: "PUT",
    headers: {
      "Content-Type": "application/octet-stream",
      "Content-Range": `bytes ${start}-${start + chunk.length - 1}/${size}`,
    },
    body: new Uint8Array(chunk.buffer as ArrayBuffer, chunk.byteOffset, chunk.length),
    signal: AbortSignal.timeout(PUT_TIMEOUT_MS),
  });
  return { status: response.status, headers: response.headers, body: await jsonOrUndefined(response) };
}

/** Drops a session that will not be finished (the documented, optional DELETE); best effort. */
async function deleteSession(target: AttachmentTarget, uploadUrl: string): Promise<void> {
  try {
    await target.ctx.scheduler.schedule(
      target.userId,
      async (): Promise<GraphResponse> => {
        const response = await fetch(uploadUrl, { method: "DELETE", signal: AbortSignal.timeout(PUT_TIMEOUT_MS) });
        return { status: response.status, headers: response.headers, body: await jsonOrUndefined(response) };
      },
      { onSent: target.onSent },
    );
  } catch {
    // An undeleted session expires on its own (expirationDateTime).
  }
}

async function jsonOrUndefined(response: Response): Promise<unknown> {
  const text = await response.text();
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Outlook answers nextExpectedRanges as ["1966080"] or ["1966080-"]: the first byte it still wants.
 * Graph's createUploadSession names it `nextExpectedRanges`; the upload URL's own answers (Outlook
 * REST v2.0) name it `NextExpectedRanges`: any casing is read.
 */
export function nextByte(body: unknown): number | undefined {
  if (typeof body !== "object" || body === null) return undefined;
  const key = Object.keys(body).find((name) => name.toLowerCase() === "nextexpectedranges");
  const ranges = key === undefined ? undefined : (body as Record<string, unknown>)[key];
  if (!Array.isArray(ranges) || typeof ranges[0] !== "string") return undefined;
  const match = /^(\d+)/.exec(ranges[0]);
  return match ? Number(match[1]) : undefined;
}
