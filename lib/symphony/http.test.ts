import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { readJson } from "./http";

// A server may answer with any amount: a JSON answer is read no further than its limit.
describe("readJson's size limit", () => {
  let server: Server;
  let base = "";
  let streamed = 0;

  beforeAll(async () => {
    server = createServer((request, response) => {
      if (request.url === "/small") return void response.end(JSON.stringify({ ok: true }));
      if (request.url === "/declared") {
        response.writeHead(200, { "content-length": String(10 * 1024 * 1024) });
        return void response.end(); // says 10 MB, sends nothing
      }
      // An endless JSON array, until the client goes away.
      response.writeHead(200, { "content-type": "application/json" });
      response.write("[");
      const piece = `${JSON.stringify("x".repeat(16 * 1024))},`;
      const more = () => {
        while (!response.destroyed && response.write(piece)) streamed += piece.length;
        if (!response.destroyed) response.once("drain", more);
      };
      response.on("close", () => response.destroy());
      more();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  it("parses an answer within the limit, and refuses a longer one without reading it all", async () => {
    const schema = z.object({ ok: z.boolean() });
    expect(await readJson(await fetch(`${base}/small`), schema, "GET /small", undefined, 1024)).toEqual({ ok: true });
    await expect(
      readJson(await fetch(`${base}/declared`), schema, "GET /declared", undefined, 1024 * 1024),
    ).rejects.toThrow("response larger than 1048576 bytes");
    await expect(
      readJson(await fetch(`${base}/endless`), z.array(z.string()), "GET /endless", undefined, 1024 * 1024),
    ).rejects.toThrow("response larger than 1048576 bytes");
    expect(streamed).toBeLessThan(64 * 1024 * 1024);
  });
});
