import { describe, expect, it } from "vitest";
import { batchingTransport } from "./batching";
import type { GraphRequest, GraphResponse, GraphTransport } from "./graph";
import type { BodyParts } from "./body-parts";

// The Graph side of these cases (answers Graph would not give) is a transport function of our own;
// the writer's tests run batches against the M365 sandbox.
const create = (n: number, bytes = 10): GraphRequest => ({
  method: "POST",
  path: `/users/u${n}/mailFolders/f/messages`,
  body: Buffer.from(JSON.stringify({ subject: "x".repeat(bytes) })),
  batchable: true,
});

function answering(answer: (request: GraphRequest) => GraphResponse): GraphTransport & { sent: GraphRequest[] } {
  const sent: GraphRequest[] = [];
  return Object.assign(
    (request: GraphRequest) => {
      sent.push(request);
      return Promise.resolve(answer(request));
    },
    { sent },
  );
}

const batchOf = (request: GraphRequest) =>
  JSON.parse(Buffer.concat([...(request.body as BodyParts)]).toString("utf8")) as {
    requests: Array<{ id: string; url: string; body: unknown }>;
  };

describe("batchingTransport", () => {
  it("sends the creates ready together as one $batch, each with its JSON body, and hands each its own answer", async () => {
    const inner = answering((request) => ({
      status: 200,
      headers: new Headers(),
      body: {
        responses: batchOf(request)
          .requests.reverse()
          .map((sub) => ({
            id: sub.id,
            status: 201,
            headers: { "Content-Type": "application/json" },
            body: { id: sub.url },
          })),
      },
    }));
    const send = batchingTransport(inner);
    const answers = await Promise.all([1, 2, 3].map((n) => send(create(n))));
    expect(inner.sent.map((request) => request.path)).toEqual(["/$batch"]);
    expect(batchOf(inner.sent[0]!).requests.map((sub) => sub.body)).toEqual(
      [1, 2, 3].map(() => ({ subject: "x".repeat(10) })),
    );
    expect(answers.map((answer) => (answer.body as { id: string }).id)).toEqual(
      [1, 2, 3].map((n) => `/users/u${n}/mailFolders/f/messages`),
    );
  });

  it("sends a lone create, and one over half the batch's bytes, without $batch", async () => {
    const inner = answering(() => ({ status: 201, headers: new Headers(), body: { id: "m" } }));
    const send = batchingTransport(inner, { maxBytes: 1000 });
    await send(create(1));
    await Promise.all([send(create(2, 600)), send(create(3))]);
    expect(inner.sent.map((request) => request.path)).toEqual([
      "/users/u1/mailFolders/f/messages",
      "/users/u2/mailFolders/f/messages",
      "/users/u3/mailFolders/f/messages",
    ]);
  });

  it("never reads an unreadable batch answer as a success: each create fails as after a lost answer", async () => {
    for (const answer of [
      { status: 200, body: "<html>proxy</html>" },
      { status: 200, body: { responses: [{ id: "1", status: 201, headers: { "Bad Header\n": "x" }, body: {} }] } },
    ]) {
      const send = batchingTransport(answering(() => ({ ...answer, headers: new Headers() })));
      const outcomes = await Promise.allSettled([send(create(1)), send(create(2))]);
      expect(outcomes.map((outcome) => outcome.status)).toEqual(["rejected", "rejected"]);
    }
  });

  it("fails only the create whose response the batch answer lacks", async () => {
    const send = batchingTransport(
      answering(() => ({
        status: 200,
        headers: new Headers(),
        body: { responses: [{ id: "2", status: 201, body: { id: "m2" } }] },
      })),
    );
    const outcomes = await Promise.allSettled([send(create(1)), send(create(2))]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(["rejected", "fulfilled"]);
  });

  it("gives every create of a batch refused as a whole that refusal (a 429 with its Retry-After)", async () => {
    const send = batchingTransport(
      answering(() => ({
        status: 429,
        headers: new Headers({ "Retry-After": "7" }),
        body: { error: { code: "TooManyRequests" } },
      })),
    );
    const answers = await Promise.all([send(create(1)), send(create(2))]);
    expect(answers.map((answer) => [answer.status, answer.headers.get("retry-after")])).toEqual([
      [429, "7"],
      [429, "7"],
    ]);
  });
});
