import { graphError, isSuccess, type GraphRequest, type GraphResponse, type GraphTransport } from "./graph";
import { BodyParts } from "./body-parts";
import type { Scheduler, ScheduleOptions } from "./scheduler";

/** What every mailbox operation needs: a way to call Graph and the scheduler that paces the calls. */
export type GraphContext = { graph: GraphTransport; scheduler: Scheduler };

/** Sends one Graph request under `mailbox`'s limits; answers 429/5xx are retried by the scheduler. */
export function send(
  ctx: GraphContext,
  mailbox: string,
  request: GraphRequest,
  options?: ScheduleOptions<GraphResponse>,
): Promise<GraphResponse> {
  return ctx.scheduler.schedule(mailbox, () => ctx.graph(request), { uploadBytes: uploadBytesOf(request), ...options });
}

const UPLOADS = new Set(["POST", "PUT", "PATCH"]);

/**
 * The bytes a request uploads as Outlook counts them against a mailbox's 150 MB per 5 minutes: the
 * body of every POST, PUT and PATCH, a message create's included
 * (https://learn.microsoft.com/graph/throttling-limits#outlook-service-limits).
 */
export function uploadBytesOf(request: GraphRequest): number {
  const { method, body } = request;
  if (!UPLOADS.has(method) || body === undefined) return 0;
  if (Buffer.isBuffer(body) || body instanceof BodyParts) return body.length;
  return Buffer.byteLength(typeof body === "string" ? body : JSON.stringify(body));
}

/** Like `send`, but any answer other than 2xx is thrown as GraphRequestError. */
export async function sendOk<T>(
  ctx: GraphContext,
  mailbox: string,
  request: GraphRequest,
  options?: ScheduleOptions<GraphResponse>,
): Promise<T> {
  const response = await send(ctx, mailbox, request, options);
  if (!isSuccess(response.status)) throw graphError(response);
  return response.body as T;
}

/** Every item of a collection, following @odata.nextLink. */
export async function listAll<T>(
  ctx: GraphContext,
  mailbox: string,
  request: GraphRequest,
  options?: ScheduleOptions<GraphResponse>,
): Promise<T[]> {
  const items: T[] = [];
  let next: GraphRequest | undefined = request;
  while (next) {
    const page: { value: T[]; "@odata.nextLink"?: string } = await sendOk(ctx, mailbox, next, options);
    items.push(...page.value);
    const link = page["@odata.nextLink"];
    next = link ? { ...request, path: link } : undefined;
  }
  return items;
}

/** A stand-in answer for "already done", returned from a scheduler's beforeRetry. */
export const alreadyDone: GraphResponse = { status: 200, headers: new Headers(), body: undefined };
