import { BATCH_MAX_REQUESTS } from "./batching";
import { alreadyDone, listAll, send, uploadBytesOf, type GraphContext } from "./context";
import { batchAnswers, graphError, isSuccess, type BatchAnswer, type GraphResponse } from "./graph";
import { readAll, type ImportAttachment } from "./item";
import { isRetried } from "./scheduler";
import type { JsonFile } from "./json-body";

/**
 * Outlook refuses an upload session for a smaller attachment
 * (ErrorAttachmentSizeShouldNotBeLessThanMinimumSize; 2 MiB measured, Graph's docs say 3 MB).
 */
export const UPLOAD_SESSION_MIN_BYTES = 2 * 1024 * 1024;
/**
 * Attachments below this many bytes go as base64 in a JSON body; larger ones through an upload
 * session. Graph's docs draw the line at 3 MB; it must stay at or above UPLOAD_SESSION_MIN_BYTES.
 */
export const SMALL_ATTACHMENT_MAX_BYTES = 3_000_000;
/** Raw attachment bytes sent in one request (base64 makes it 4/3 of this; Graph takes 4 MB a request). */
const REQUEST_MAX_ATTACHMENT_BYTES = 2_500_000;

export type AttachmentTarget = { ctx: GraphContext; userId: string; messageId: string; onSent: (n: number) => void };

export function attachmentsPath({ userId, messageId }: AttachmentTarget): string {
  return `/users/${encodeURIComponent(userId)}/messages/${encodeURIComponent(messageId)}/attachments`;
}

/** How many attachments of each name the message has now. */
export async function attachedNames(target: AttachmentTarget): Promise<Map<string, number>> {
  const attached = await listAll<{ name: string }>(
    target.ctx,
    target.userId,
    { method: "GET", path: `${attachmentsPath(target)}?$select=id,name` },
    { onSent: target.onSent },
  );
  const counts = new Map<string, number>();
  for (const { name } of attached) counts.set(name, (counts.get(name) ?? 0) + 1);
  return counts;
}

/**
 * The attachments of `wanted` that the message does not have yet, matched by name (Graph reports a
 * size of its own, not the byte count): with two "a.png" wanted and one attached, one is missing.
 */
export function missingFrom<T extends { name: string }>(wanted: T[], attached: Map<string, number>): T[] {
  const left = new Map(attached);
  return wanted.filter((attachment) => {
    const count = left.get(attachment.name) ?? 0;
    if (count === 0) return true;
    left.set(attachment.name, count - 1);
    return false;
  });
}

export type AttachmentPlan = { inCreate: ImportAttachment[]; small: ImportAttachment[]; large: ImportAttachment[] };

/**
 * Which attachments ride in the message's create request (one request, and atomic with the message),
 * which go as separate small POSTs and which need an upload session. `createBytes` is the size of
 * the create body without attachments; `inCreate` stays empty when the message already exists.
 */
export function planAttachments(attachments: ImportAttachment[], createBytes: number | undefined): AttachmentPlan {
  const plan: AttachmentPlan = { inCreate: [], small: [], large: [] };
  let room = createBytes === undefined ? 0 : REQUEST_MAX_ATTACHMENT_BYTES - createBytes;
  for (const attachment of attachments) {
    if (attachment.size >= Math.max(SMALL_ATTACHMENT_MAX_BYTES, UPLOAD_SESSION_MIN_BYTES)) plan.large.push(attachment);
    else if (attachment.size <= room) {
      plan.inCreate.push(attachment);
      room -= attachment.size;
    } else plan.small.push(attachment);
  }
  return plan;
}

type Request = { id: string; attachment: ImportAttachment; body: Record<string, unknown> };

/**
 * Adds small attachments: one POST when alone, otherwise $batch requests of several (fewer round
 * trips; each sub-request still counts against the mailbox's limits, which the scheduler knows).
 * A retry after an answer that may hide a success first checks what the message already has.
 */
export async function addSmallAttachments(
  target: AttachmentTarget,
  attachments: ImportAttachment[],
  all: ImportAttachment[],
) {
  const groups: ImportAttachment[][] = [];
  let bytes = Infinity;
  for (const attachment of attachments) {
    if (bytes + attachment.size > REQUEST_MAX_ATTACHMENT_BYTES || groups.at(-1)!.length >= BATCH_MAX_REQUESTS) {
      groups.push([]);
      bytes = 0;
    }
    groups.at(-1)!.push(attachment);
    bytes += attachment.size;
  }
  await Promise.all(
    groups.map(async (group) => {
      const requests = await Promise.all(
        group.map(async (attachment, index) => ({
          id: String(index + 1),
          attachment,
          body: await fileAttachmentBody(attachment),
        })),
      );
      const [only] = requests;
      await (only && requests.length === 1 ? postOne(target, only, all) : postBatch(target, requests, all));
    }),
  );
}

/** A fileAttachment resource without its contentBytes. */
function fileAttachmentFields(attachment: ImportAttachment): Record<string, unknown> {
  return {
    "@odata.type": "#microsoft.graph.fileAttachment",
    name: attachment.name,
    contentType: attachment.contentType,
    isInline: attachment.isInline,
    ...(attachment.contentId ? { contentId: attachment.contentId } : {}),
  };
}

export async function fileAttachmentBody(attachment: ImportAttachment): Promise<Record<string, unknown>> {
  return { ...fileAttachmentFields(attachment), contentBytes: (await readAll(attachment)).toString("base64") };
}

/** The attachment as a file of a JSON body built by jsonWithFiles. */
export async function fileAttachmentFile(attachment: ImportAttachment): Promise<JsonFile> {
  return { fields: fileAttachmentFields(attachment), bytes: await readAll(attachment) };
}

/** The requests among `pending` whose attachment the message still lacks. */
async function stillMissing(target: AttachmentTarget, pending: Request[], all: ImportAttachment[]): Promise<Request[]> {
  const missing = new Set(missingFrom(all, await attachedNames(target)));
  return pending.filter((request) => missing.has(request.attachment));
}

async function postOne(target: AttachmentTarget, request: Request, all: ImportAttachment[]) {
  const response = await send(
    target.ctx,
    target.userId,
    { method: "POST", path: attachmentsPath(target), body: request.body },
    {
      onSent: target.onSent,
      beforeRetry: async () => ((await stillMissing(target, [request], all)).length === 0 ? alreadyDone : undefined),
    },
  );
  if (!isSuccess(response.status)) throw graphError(response);
}

/** The scheduler's answer for a $batch that left requests unanswered: a server error, tried again. */
function unansweredBatch(count: number): GraphResponse {
  const message = `the $batch answer held no response for ${count} attachment request${count === 1 ? "" : "s"}`;
  return { status: 502, headers: new Headers(), body: { error: { code: "BatchAnswerIncomplete", message } } };
}

async function postBatch(target: AttachmentTarget, requests: Request[], all: ImportAttachment[]) {
  const url = attachmentsPath(target);
  let pending = requests;
  const failed: BatchAnswer[] = [];
  const outcome = await target.ctx.scheduler.schedule(
    target.userId,
    async (): Promise<GraphResponse> => {
      const response = await target.ctx.graph({
        method: "POST",
        path: "/$batch",
        body: {
          requests: pending.map(({ id, body }) => ({
            id,
            method: "POST",
            url,
            headers: { "Content-Type": "application/json" },
            body,
          })),
        },
      });
      if (response.status !== 200) return response;
      // Sub-requests are throttled one by one: keep the ones to send again, and answer the scheduler
      // with the most telling of their statuses (a 429 with the longest Retry-After).
      const answers = batchAnswers(response) ?? [];
      const retry: BatchAnswer[] = [];
      for (const answer of answers) {
        if (isRetried(answer.status)) retry.push(answer);
        else if (!isSuccess(answer.status)) failed.push(answer);
      }
      // A request the answer says nothing of may or may not have been added: it goes again, and
      // beforeRetry first looks at what the message holds.
      const answered = new Set(answers.map((answer) => answer.id));
      const again = new Set(retry.map((answer) => answer.id));
      const unanswered = pending.filter((request) => !answered.has(request.id));
      pending = pending.filter((request) => !answered.has(request.id) || again.has(request.id));
      if (pending.length === 0) return alreadyDone;
      if (retry.length === 0) return unansweredBatch(unanswered.length);
      const worst = retry.reduce((a, b) => (rank(b) > rank(a) ? b : a));
      const answer = { status: worst.status, headers: new Headers(worst.headers ?? {}), body: worst.body };
      // A request that may have landed (unanswered, or a 5xx) must be looked for before it goes again:
      // the scheduler does so for a server error, not for a 429, so the 429's wait is kept on a 503.
      if (worst.status === 429 && (unanswered.length > 0 || retry.some((a) => a.status >= 500)))
        return { ...answer, status: 503 };
      return answer;
    },
    {
      requestCount: () => pending.length,
      // Counted for the first attempt's sub-requests: a retry sends fewer.
      uploadBytes: requests.reduce(
        (sum, request) => sum + uploadBytesOf({ method: "POST", path: url, body: request.body }),
        0,
      ),
      onSent: target.onSent,
      beforeRetry: async () => {
        pending = await stillMissing(target, pending, all);
        return pending.length === 0 ? alreadyDone : undefined;
      },
    },
  );
  if (!isSuccess(outcome.status)) throw graphError(outcome);
  const [firstFailure] = failed;
  if (firstFailure) throw graphError({ status: firstFailure.status, headers: new Headers(), body: firstFailure.body });
}

function rank(answer: BatchAnswer): number {
  const retryAfter = Number(new Headers(answer.headers ?? {}).get("retry-after") ?? 0);
  return (answer.status === 429 ? 1e9 : 0) + retryAfter;
}
