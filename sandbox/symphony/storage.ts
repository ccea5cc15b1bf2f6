// The storage server behind the Files API's signed URLs (Symphony's are Google Cloud Storage URLs):
// an HMAC-signed path with an expiry, no Authorization header accepted, byte ranges supported.
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { sendJson, type Handler } from "../http";
import type { ServedEntry } from "./export-files";
import { countRequest, type FaultGate, type Stats } from "./faults";

export type Storage = {
  /** A URL that serves the entry's bytes until `expiresAt` (epoch ms). */
  signedUrl(entry: Pick<ServedEntry, "id" | "name">, expiresAt: number): string;
  handler: Handler;
};

const fail = (res: ServerResponse, status: number, error: string, headers: Record<string, string> = {}) =>
  sendJson(res, status, { error }, headers);

export function storage(options: {
  baseUrl: () => string;
  entry(id: string): Promise<ServedEntry | undefined>;
  faults: FaultGate;
  stats: Stats;
}): Storage {
  const secret = randomBytes(32);
  const sign = (path: string, expiresAt: number) =>
    createHmac("sha256", secret).update(`${path}\n${expiresAt}`).digest("hex");
  const pathOf = (entry: Pick<ServedEntry, "id" | "name">) =>
    `/content-export/${encodeURIComponent(entry.id)}/${encodeURIComponent(entry.name)}`;

  async function handle(req: IncomingMessage, res: ServerResponse, url: URL) {
    const decision = options.faults.decide();
    if (decision === "throttle")
      return fail(res, 429, "Too many requests", { "retry-after": String(options.faults.current().retryAfterSeconds) });
    if (decision === "error") return fail(res, 503, "Service temporarily unavailable");
    if (req.method !== "GET" && req.method !== "HEAD") return fail(res, 405, "Method not allowed");
    // Like Cloud Storage: a signed URL is the credential; a second one is a bad request.
    if (req.headers.authorization !== undefined)
      return fail(res, 400, "A signed URL request must not carry an Authorization header");
    const match = /^\/content-export\/([^/]+)\/([^/]+)$/.exec(url.pathname);
    const expiresAt = Number(url.searchParams.get("X-Expires"));
    const signature = url.searchParams.get("X-Signature") ?? "";
    if (!match || !Number.isSafeInteger(expiresAt) || !/^[0-9a-f]{64}$/.test(signature))
      return fail(res, 403, "Missing or malformed signature");
    const expected = Buffer.from(sign(url.pathname, expiresAt), "hex");
    if (!timingSafeEqual(expected, Buffer.from(signature, "hex"))) return fail(res, 403, "Signature does not match");
    if (Date.now() > expiresAt) return fail(res, 403, "Request has expired");
    const entry = await options.entry(decodeURIComponent(match[1]!));
    if (!entry) return fail(res, 404, "No such object");

    const bytes = entry.bytes;
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? "");
    const headers = { "content-type": entry.contentType, "accept-ranges": "bytes" };
    if (range) {
      const start = Number(range[1]);
      const end = Math.min(range[2] ? Number(range[2]) : bytes.length - 1, bytes.length - 1);
      if (start >= bytes.length || end < start)
        return fail(res, 416, "Requested range not satisfiable", { "content-range": `bytes */${bytes.length}` });
      res.writeHead(206, {
        ...headers,
        "content-length": end - start + 1,
        "content-range": `bytes ${start}-${end}/${bytes.length}`,
      });
      return void res.end(req.method === "HEAD" ? undefined : bytes.subarray(start, end + 1));
    }
    res.writeHead(200, { ...headers, "content-length": bytes.length });
    res.end(req.method === "HEAD" ? undefined : bytes);
  }

  return {
    signedUrl(entry, expiresAt) {
      const path = pathOf(entry);
      return `${options.baseUrl()}${path}?X-Expires=${expiresAt}&X-Signature=${sign(path, expiresAt)}`;
    },
    handler: async (req, res, url) => {
      res.on("finish", () => countRequest(options.stats, `${req.method ?? "GET"} storage`, res.statusCode));
      await handle(req, res, url);
    },
  };
}
