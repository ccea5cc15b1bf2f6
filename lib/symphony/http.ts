import type { Dispatcher } from "undici";
import type { z } from "zod";
import { codeForStatus, ResponseTooLargeError, SymphonyError } from "./errors";
import { checkHost, CleartextHostError, PrivateAddressError } from "./network";
import { errorBodySchema } from "./schemas";
import { backoffDelayMs, retryAfterMs, sleep, type RetryPolicy } from "./retry";
import { errorMessage } from "@/lib/errors";

export type RetryEvent = { endpoint: string; attempt: number; delayMs: number; reason: string };

/** An answer's arrival: its `Date` header against this machine's clock tells how far the two clocks differ. */
export type ResponseEvent = { endpoint: string; status: number; date: string | null; receivedAt: number };

export type HttpOptions = {
  retry: RetryPolicy;
  /** Time allowed until the response headers arrive (datafeed reads long-poll about 30 s). */
  requestTimeoutMs: number;
  onRetry?: (event: RetryEvent) => void;
  /** Told of every answer as its headers arrive (the doctor's clock check). */
  onResponse?: (event: ResponseEvent) => void;
  /** Connection pool that refuses private addresses unless they are allowed (network.ts). */
  dispatcher: Dispatcher;
  allowPrivateHosts: boolean;
};

export type HttpRequest = {
  method: "GET" | "POST" | "DELETE";
  url: URL;
  /** Names the call in errors, e.g. "GET /agent/v4/stream/{sid}/message". */
  endpoint: string;
  headers?: Record<string, string>;
  body?: unknown;
  /** Values that must never appear in an error message (the tokens sent with this request). */
  secrets?: string[];
  /** Stops the request and its retries; the signal's reason is thrown as it is. */
  signal?: AbortSignal;
  /** A 3xx answer is the caller's to read (its Location), not a `redirect` error. Never followed. */
  redirectIsAnswer?: boolean;
};

/**
 * Sends a request; 429 (after Retry-After), 5xx, network errors and timeouts are retried with
 * backoff up to the policy's attempts. Resolves with a 2xx response, or a 401 response for the
 * caller to re-authenticate; every other outcome throws a SymphonyError.
 */
export async function send(request: HttpRequest, options: HttpOptions): Promise<Response> {
  const { retry } = options;
  for (let attempt = 1; ; attempt++) {
    const last = attempt >= retry.maxAttempts;
    let response: Response;
    try {
      request.signal?.throwIfAborted();
      response = await fetchOnce(request, options);
      options.onResponse?.({
        endpoint: request.endpoint,
        status: response.status,
        date: response.headers.get("date"),
        receivedAt: Date.now(),
      });
    } catch (error) {
      if (request.signal?.aborted) throw request.signal.reason;
      const failure = transportError(request, error);
      if (last || failure.code === "blocked_host" || failure.code === "insecure_url") throw failure;
      await pause(options, request, attempt, backoffDelayMs(retry, attempt), failure.message);
      continue;
    }
    if (response.ok || response.status === 401) return response;
    if (response.status >= 300 && response.status < 400 && request.redirectIsAnswer) return response;
    if (response.status >= 300 && response.status < 400) {
      await response.body?.cancel();
      throw new SymphonyError({
        code: "redirect",
        endpoint: request.endpoint,
        status: response.status,
        message: `HTTP ${response.status}, a redirect (redirects are not followed)`,
      });
    }

    const retriable = response.status === 429 || response.status >= 500;
    if (!retriable || last) throw await statusError(request, response);
    await response.body?.cancel();
    const asked = response.status === 429 ? retryAfterMs(response.headers.get("retry-after")) : undefined;
    const delayMs = asked === undefined ? backoffDelayMs(retry, attempt) : Math.min(asked, retry.maxRetryAfterMs);
    await pause(options, request, attempt, delayMs, `HTTP ${response.status}`);
  }
}

/** The most a JSON answer may hold: a page of 500 messages of Symphony's largest is well under it. */
export const MAX_JSON_BYTES = 64 * 1024 * 1024;

/**
 * The body as text, read no further than `maxBytes`: a server may send any amount, and the worker's
 * heap is shared by every connector. Undefined when the body is longer.
 */
export async function boundedText(response: Response, maxBytes: number): Promise<string | undefined> {
  if (Number(response.headers.get("content-length")) > maxBytes) {
    await response.body?.cancel();
    return undefined;
  }
  if (!response.body) return "";
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = response.body.getReader();
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    total += read.value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(read.value);
  }
  return new TextDecoder().decode(Buffer.concat(chunks));
}

/** Parses a JSON body with the endpoint's schema; an empty body (204) yields `whenEmpty`. */
export async function readJson<S extends z.ZodType>(
  response: Response,
  schema: S,
  endpoint: string,
  whenEmpty?: z.output<S>,
  maxBytes = MAX_JSON_BYTES,
): Promise<z.output<S>> {
  const text = await boundedText(response, maxBytes);
  if (text === undefined) throw new ResponseTooLargeError({ endpoint, status: response.status, maxBytes });
  if (text.trim() === "" && whenEmpty !== undefined) return whenEmpty;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new SymphonyError({
      code: "invalid_response",
      endpoint,
      status: response.status,
      message: "response is not JSON",
    });
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const where = parsed.error.issues
      .slice(0, 3)
      .map((issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`)
      .join("; ");
    throw new SymphonyError({
      code: "invalid_response",
      endpoint,
      status: response.status,
      message: `unexpected response shape (${where})`,
    });
  }
  return parsed.data;
}

export async function statusError(request: HttpRequest, response: Response): Promise<SymphonyError> {
  // Only the start of an error's words is ever shown.
  const text = (await boundedText(response, 64 * 1024).catch(() => undefined)) ?? "";
  let detail = "";
  try {
    const body = errorBodySchema.parse(JSON.parse(text));
    detail = body.message ?? body.error ?? "";
  } catch {
    detail = text.length < 300 ? text : "";
  }
  const serverMessage = detail ? redact(detail.slice(0, 300), request.secrets) : undefined;
  return new SymphonyError({
    code: codeForStatus(response.status),
    endpoint: request.endpoint,
    status: response.status,
    message: `HTTP ${response.status}`,
    serverMessage,
  });
}

async function fetchOnce(request: HttpRequest, options: HttpOptions): Promise<Response> {
  checkHost(request.url, options.allowPrivateHosts);
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new DOMException("no response in time", "TimeoutError")),
    options.requestTimeoutMs,
  );
  try {
    const init: RequestInit & { dispatcher: Dispatcher } = {
      method: request.method,
      headers: {
        accept: "application/json",
        ...(request.body === undefined ? {} : { "content-type": "application/json" }),
        ...request.headers,
      },
      body: request.body === undefined ? undefined : JSON.stringify(request.body),
      signal: request.signal ? AbortSignal.any([controller.signal, request.signal]) : controller.signal,
      redirect: "manual",
      dispatcher: options.dispatcher,
    };
    return await fetch(request.url, init);
  } finally {
    clearTimeout(timer);
  }
}

function transportError(request: HttpRequest, error: unknown): SymphonyError {
  if (error instanceof Error && error.name === "TimeoutError") {
    return new SymphonyError({
      code: "timeout",
      endpoint: request.endpoint,
      message: "no response in time",
      cause: error,
    });
  }
  const cause = error instanceof Error ? (error.cause as { code?: string; message?: string } | undefined) : undefined;
  const refused = [error, cause].find(
    (candidate): candidate is PrivateAddressError | CleartextHostError =>
      candidate instanceof PrivateAddressError || candidate instanceof CleartextHostError,
  );
  if (refused) {
    return new SymphonyError({
      code: refused instanceof CleartextHostError ? "insecure_url" : "blocked_host",
      endpoint: request.endpoint,
      message: refused.message,
      cause: error,
    });
  }
  const reason = cause?.code ?? cause?.message ?? errorMessage(error);
  return new SymphonyError({
    code: "network",
    endpoint: request.endpoint,
    message: `cannot reach ${request.url.host} (${redact(reason, request.secrets)})`,
    cause: error,
  });
}

async function pause(options: HttpOptions, request: HttpRequest, attempt: number, delayMs: number, reason: string) {
  options.onRetry?.({ endpoint: request.endpoint, attempt, delayMs, reason });
  await sleep(delayMs, request.signal);
}

function redact(text: string, secrets: string[] = []): string {
  return secrets.reduce((result, secret) => (secret ? result.split(secret).join("[redacted]") : result), text);
}
