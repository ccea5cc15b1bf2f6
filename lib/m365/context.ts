import { graphError, isSuccess, type GraphRequest, type GraphResponse, type GraphTransport } from "./graph";
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
  return ctx.scheduler.schedule(mailbox, () => ctx.graph(request), options);
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
