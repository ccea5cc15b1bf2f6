import { z } from "zod";
import type { GraphCall, GraphRequest, GraphResponse } from "./graph-types";
import { graphError, ok } from "./graph-types";
import { jsonByteLength, parseJsonBody } from "./graph-json";

export const MAX_BATCH_REQUESTS = 20;
/** Graph hands at most four requests of a batch to Outlook at a time. */
const BATCH_PARALLELISM = 4;

const batchSchema = z.object({
  requests: z
    .array(
      z.object({
        id: z.string().min(1),
        method: z.enum(["GET", "POST", "PUT", "PATCH", "DELETE"]),
        url: z.string().min(1),
        headers: z.record(z.string(), z.string()).optional(),
        body: z.unknown().optional(),
        dependsOn: z.array(z.string()).optional(),
      }),
    )
    .min(1),
});

type Inner = z.output<typeof batchSchema>["requests"][number];
type InnerResponse = { id: string; status: number; headers: Record<string, string>; body?: unknown };

export async function handleBatch(
  call: GraphCall,
  req: GraphRequest,
  run: (inner: GraphRequest) => Promise<GraphResponse>,
): Promise<GraphResponse> {
  const parsed = parseJsonBody(call, req, batchSchema);
  if (!parsed.ok) return parsed.response;
  const { requests } = parsed.value;
  if (requests.length > MAX_BATCH_REQUESTS) {
    return graphError(
      400,
      "BadRequest",
      `Invalid batch payload format: a batch holds at most ${MAX_BATCH_REQUESTS} requests, this one has ${requests.length}.`,
      call,
    );
  }
  const ids = new Set(requests.map((r) => r.id));
  if (ids.size !== requests.length)
    return graphError(400, "BadRequest", "Invalid batch payload format: request ids must be unique.", call);
  const unknown = requests.flatMap((r) => r.dependsOn ?? []).find((d) => !ids.has(d));
  if (unknown)
    return graphError(
      400,
      "BadRequest",
      `Invalid batch payload format: dependsOn refers to unknown request '${unknown}'.`,
      call,
    );

  const results = new Map<string, InnerResponse>();
  const order: InnerResponse[] = [];
  const pending = [...requests];
  const running = new Map<string, Promise<void>>();
  while (pending.length > 0 || running.size > 0) {
    const ready = pending.filter((r) => (r.dependsOn ?? []).every((d) => results.has(d)));
    if (ready.length === 0 && running.size === 0) {
      return graphError(400, "BadRequest", "Invalid batch payload format: dependsOn forms a cycle.", call);
    }
    for (const request of ready) {
      if (running.size >= BATCH_PARALLELISM) break;
      pending.splice(pending.indexOf(request), 1);
      const task = runOne(call, request, results, run).then((response) => {
        results.set(request.id, response);
        order.push(response);
        running.delete(request.id);
      });
      running.set(request.id, task);
    }
    if (running.size > 0) await Promise.race(running.values());
  }
  return ok({ responses: order });
}

async function runOne(
  call: GraphCall,
  request: Inner,
  results: Map<string, InnerResponse>,
  run: (inner: GraphRequest) => Promise<GraphResponse>,
): Promise<InnerResponse> {
  const failed = (request.dependsOn ?? []).some((d) => (results.get(d)?.status ?? 500) >= 400);
  if (failed)
    return toInner(
      request.id,
      graphError(
        424,
        "FailedDependency",
        "The request could not be performed because a request it depends on failed.",
        call,
      ),
    );
  const headers = Object.fromEntries(Object.entries(request.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  const type = headers["content-type"];
  if (request.body !== undefined && !type)
    return toInner(
      request.id,
      graphError(400, "BadRequest", "Content-Type header must be specified when a body is present.", call),
    );
  const relative = request.url.startsWith("/") ? request.url : `/${request.url}`;
  const url = new URL(relative, "https://batch.invalid");
  const target = { method: request.method, path: url.pathname, query: url.searchParams, headers };
  let response: GraphResponse;
  if (request.body !== undefined && type?.includes("json")) {
    // Handed on as the batch's parse read it, and sized without writing it out; its bytes are made
    // only for a handler that asks for them.
    const json = request.body;
    let bytes: Buffer | undefined;
    response = await run({
      ...target,
      json,
      bodySize: jsonByteLength(json),
      get body() {
        return (bytes ??= Buffer.from(JSON.stringify(json)));
      },
    });
  } else {
    // Other content types carry their bytes as a base64 string (anything else is decoded from its JSON text).
    const body =
      request.body === undefined
        ? Buffer.alloc(0)
        : Buffer.from(typeof request.body === "string" ? request.body : JSON.stringify(request.body), "base64");
    response = await run({ ...target, body, bodySize: body.length });
  }
  return toInner(request.id, response);
}

function toInner(id: string, response: GraphResponse): InnerResponse {
  if (response.file) {
    return {
      id,
      status: response.status,
      headers: { ...response.headers, "Content-Type": response.file.contentType },
      body: "(binary content is not returned inside $batch by the sandbox)",
    };
  }
  return {
    id,
    status: response.status,
    headers: { ...response.headers, ...(response.body !== undefined ? { "Content-Type": "application/json" } : {}) },
    ...(response.body !== undefined ? { body: response.body } : {}),
  };
}
