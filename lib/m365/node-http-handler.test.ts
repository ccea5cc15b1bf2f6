import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import https from "node:https";
import path from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import type { Context } from "@microsoft/microsoft-graph-client";
import { describe, expect, it } from "vitest";
import { BodyParts } from "./body-parts";
import { nodeHttpHandler, ReadResponse } from "./node-http-handler";

/** What a standard Response gives for the same bytes: the reference. */
const standard = (bytes: Buffer, init: ResponseInit) => new Response(new Uint8Array(bytes), init);

describe("ReadResponse", () => {
  const init = { status: 201, statusText: "Created", headers: { "content-type": "application/json; charset=utf-8" } };
  const bodies = [
    Buffer.from(JSON.stringify({ id: "AAMk=", subject: "Trade ✓ 日本語 😀", body: { content: "<p>é</p>" } })),
    // A byte order mark, an invalid sequence and a character split at the end.
    Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"a":"x'), Buffer.from([0xc3, 0x28, 0xe2, 0x82])]),
    Buffer.alloc(0),
  ];

  it("reads as text, JSON and bytes exactly as a standard Response", async () => {
    for (const bytes of bodies) {
      const read = new ReadResponse(bytes, init);
      expect(await read.text()).toBe(await standard(bytes, init).text());
      expect(Buffer.from(await read.arrayBuffer())).toEqual(bytes);
    }
    const json = new ReadResponse(bodies[0]!, init);
    expect(await json.json()).toEqual(await standard(bodies[0]!, init).json());
    await expect(new ReadResponse(bodies[1]!, init).json()).rejects.toThrow(SyntaxError);
  });

  it("keeps the status, status text and headers", () => {
    const read = new ReadResponse(bodies[0]!, init);
    expect([read.status, read.statusText, read.ok, read.headers.get("content-type")]).toEqual([
      201,
      "Created",
      true,
      "application/json; charset=utf-8",
    ]);
  });
});

describe("nodeHttpHandler", () => {
  it("makes a body's parts as the server reads them, and sends every byte of them", async () => {
    // A 64 MB body of 48 KiB pieces made as they are sent (a batch's file base64), to a server that
    // reads nothing until it is released.
    const total = 64 * 1024 * 1024;
    const pieceBytes = 48 * 1024;
    let made = 0;
    const piece = (at: number) => Buffer.alloc(Math.min(pieceBytes, total - at), at / pieceBytes);
    const lazy = {
      length: total,
      *[Symbol.iterator]() {
        for (let at = 0; at < total; at += pieceBytes) {
          made += Math.min(pieceBytes, total - at);
          yield piece(at);
        }
      },
    };
    const head = Buffer.from('{"requests":[');
    const expected = createHash("sha256").update(head);
    for (let at = 0; at < total; at += pieceBytes) expected.update(piece(at));

    let release = () => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    const dir = process.env.M365_SANDBOX_CA_DIR!;
    const server = https.createServer(
      { cert: readFileSync(path.join(dir, "server.crt")), key: readFileSync(path.join(dir, "server.key")) },
      (request, response) => {
        void released.then(async () => {
          const hash = createHash("sha256");
          for await (const chunk of request) hash.update(chunk as Buffer);
          response.end(hash.digest("hex"));
        });
      },
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = server.address() as { port: number };
      const context = {
        request: `https://localhost:${port}/$batch`,
        options: { method: "POST", headers: { "content-type": "application/json" } },
        middlewareControl: { getMiddlewareOptions: () => new BodyParts([head, lazy]) },
      } as unknown as Context;
      const sent = nodeHttpHandler().execute(context);
      // Until the sockets' buffers are full, and a while more.
      for (let last = -1; made !== last; await delay(200)) last = made;
      // The kernel's buffers of a local connection hold a few MB; the rest waits to be made.
      expect(made).toBeLessThan(total / 2);
      release();
      await sent;
      expect(await context.response!.text()).toBe(expected.digest("hex"));
      expect(made).toBe(total);
    } finally {
      server.close();
    }
  });
});

describe("nodeHttpHandler's idle timeout", () => {
  it("drops a request whose connection stays silent, so that the scheduler retries it", async () => {
    const dir = process.env.M365_SANDBOX_CA_DIR!;
    const server = https.createServer(
      { cert: readFileSync(path.join(dir, "server.crt")), key: readFileSync(path.join(dir, "server.key")) },
      () => {}, // reads the request, never answers
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = server.address() as { port: number };
      const context = {
        request: `https://localhost:${port}/v1.0/users/a@bank.example/messages`,
        options: { method: "POST", headers: { "content-type": "application/json" }, body: "{}" },
      } as unknown as Context;
      const started = Date.now();
      await expect(nodeHttpHandler(new https.Agent(), 500).execute(context)).rejects.toThrow(
        "Graph sent and received nothing for 0.5 s: POST dropped",
      );
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
