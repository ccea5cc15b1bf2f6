// Small HTTP helpers shared by the sandboxes (plain node:http, no framework).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> | void;

export class BodyTooLargeError extends Error {}

/** Reads the request body as text, refusing more than `maxBytes`. */
export async function readText(req: IncomingMessage, maxBytes = 1024 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw new BodyTooLargeError(`request body over ${maxBytes} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** Parses the body as JSON; an empty body is `undefined`. Throws SyntaxError on bad JSON. */
export async function readJson(req: IncomingMessage, maxBytes?: number): Promise<unknown> {
  const text = await readText(req, maxBytes);
  return text.trim() === "" ? undefined : JSON.parse(text);
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** Starts a server on host:port (port 0 = ephemeral) and returns it with its base URL. */
export async function listen(handler: Handler, host = "127.0.0.1", port = 0): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", `http://${req.headers.host ?? host}`);
    Promise.resolve(handler(req, res, url)).catch((error: unknown) => {
      if (!res.headersSent)
        sendJson(res, 500, { code: 500, message: error instanceof Error ? error.message : "internal error" });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  return { server, url: `http://${host}:${address.port}` };
}

/** Closes a server, dropping idle keep-alive connections so close() does not hang. */
export function close(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeAllConnections();
  });
}
