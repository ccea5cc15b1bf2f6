import https from "node:https";
import type { ClientRequest } from "node:http";
import type { Context, Middleware } from "@microsoft/microsoft-graph-client";
import { BodyParts } from "./body-parts";

/**
 * How long a Graph connection may stay silent (nothing sent, nothing received) before the request is
 * dropped and retried as a network error. Graph's own gateway answers 504 well before this; a request
 * that hangs would otherwise hold its mailbox's slot, and its run, for good.
 */
export const GRAPH_IDLE_TIMEOUT_MS = 120_000;

/** Answers that carry no body (the Response constructor refuses one for them). */
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

/**
 * The last middleware of the Graph SDK chain: sends the request with node:https over kept-alive
 * connections instead of the SDK's HTTPMessageHandler (global fetch). Measured in `npm run bench`,
 * fetch's web streams cost ~1 ms of CPU per Graph request; this path a fraction of it. The answer is
 * still a standard Response, so the SDK and the callers see no difference.
 */
export function nodeHttpHandler(
  agent: https.Agent = new https.Agent({ keepAlive: true, maxSockets: 256 }),
  idleTimeoutMs = GRAPH_IDLE_TIMEOUT_MS,
): Middleware {
  return {
    async execute(context: Context) {
      const url = typeof context.request === "string" ? context.request : context.request.url;
      const options = context.options ?? {};
      const headers: Record<string, string> = {};
      new Headers(options.headers).forEach((value, name) => (headers[name] = value));
      const parts = context.middlewareControl?.getMiddlewareOptions(BodyParts) as BodyParts | undefined;
      const single = requestBody(options.body);
      const body = parts ?? (single && new BodyParts([single]));
      if (body) headers["content-length"] = String(body.length);
      context.response = await send(agent, url, options.method ?? "GET", headers, body, idleTimeoutMs);
    },
  };
}

/**
 * A Response whose body has been read whole: text() and json() decode its bytes at once. A standard
 * Response would wrap them in a web stream that text() drains and decodes chunk by chunk, the larger
 * part of reading a Graph answer (a create's answer is the whole message) in the worker's profile.
 * Only the methods the callers use read the bytes; `body` (the stream) is null.
 */
export class ReadResponse extends Response {
  readonly #read: Buffer;

  constructor(read: Buffer, init: ResponseInit) {
    super(null, init);
    this.#read = read;
  }

  override text(): Promise<string> {
    const text = this.#read.toString("utf8");
    // As the Fetch standard's UTF-8 decode: a byte order mark is not text.
    return Promise.resolve(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  }

  override async json(): Promise<unknown> {
    return JSON.parse(await this.text()) as unknown;
  }

  override arrayBuffer(): Promise<ArrayBuffer> {
    const { buffer, byteOffset, byteLength } = this.#read;
    return Promise.resolve(buffer.slice(byteOffset, byteOffset + byteLength) as ArrayBuffer);
  }
}

function requestBody(body: unknown): Buffer | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === "string") return Buffer.from(body);
  if (Buffer.isBuffer(body)) return body;
  if (body instanceof ArrayBuffer) return Buffer.from(body);
  if (ArrayBuffer.isView(body)) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  throw new TypeError(`Unsupported Graph request body: ${Object.prototype.toString.call(body)}`);
}

function send(
  agent: https.Agent,
  url: string,
  method: string,
  headers: Record<string, string>,
  body: BodyParts | undefined,
  idleTimeoutMs: number,
): Promise<Response> {
  return new Promise((resolve, reject) => {
    const request = https.request(url, { method, headers, agent }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.once("error", reject);
      response.once("end", () => {
        const status = response.statusCode ?? 0;
        const responseHeaders = new Headers();
        const raw = response.rawHeaders;
        for (let i = 0; i < raw.length; i += 2) {
          const name = raw[i];
          const value = raw[i + 1];
          if (name !== undefined && value !== undefined) responseHeaders.append(name, value);
        }
        const init = { status, statusText: response.statusMessage, headers: responseHeaders };
        resolve(
          NULL_BODY_STATUSES.has(status) ? new Response(null, init) : new ReadResponse(Buffer.concat(chunks), init),
        );
      });
    });
    request.once("error", reject);
    request.setTimeout(idleTimeoutMs, () =>
      request.destroy(new Error(`Graph sent and received nothing for ${idleTimeoutMs / 1000} s: ${method} dropped`)),
    );
    writeBody(request, body).catch((error: unknown) => request.destroy(error as Error));
  });
}

/** Bytes written ahead of the socket (see writeBody). */
const WRITE_AHEAD_BYTES = 256 * 1024;

/**
 * Writes the body as the socket takes it, at most WRITE_AHEAD_BYTES ahead. Written all at once, every
 * part (each file's base64, made as it is read) would be made at once, and Node's TLS copies what
 * waits in the socket into one buffer and encrypts all of it before sending: a batch of megabytes
 * held three times over.
 */
async function writeBody(request: ClientRequest, body: BodyParts | undefined): Promise<void> {
  for (const part of body ?? []) {
    if (request.destroyed) return;
    if (!request.write(part) && request.writableLength >= WRITE_AHEAD_BYTES) await drained(request);
  }
  request.end();
}

function drained(request: ClientRequest): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      request.off("drain", done);
      request.off("close", done);
      resolve();
    };
    request.on("drain", done);
    request.on("close", done);
  });
}
