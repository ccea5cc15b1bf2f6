import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { attachmentBytes } from "@/sandbox/symphony/attachments";
import { startSymphonySandbox, type SymphonySandbox } from "@/sandbox/symphony/index";
import { createSymphonyClient, type SymphonyClientOptions } from "./client";
import type { RetryEvent } from "./http";
import type { SymphonyMessage } from "./schemas";

let sandbox: SymphonySandbox;

beforeAll(async () => {
  sandbox = await startSymphonySandbox({
    seed: "lib-symphony",
    org: { users: 12, messages: 400 },
    datafeedTimeoutMs: 300,
  });
});
afterAll(() => sandbox?.close());
afterEach(() => {
  sandbox.setFaults({ serverErrorShare: 0, throttleShare: 0, latencyMs: 0 });
});

const fastRetry = { maxAttempts: 8, baseDelayMs: 5, maxDelayMs: 50 };

function client(options: SymphonyClientOptions = {}) {
  return createSymphonyClient(
    {
      podUrl: sandbox.podUrl,
      agentUrl: sandbox.agentUrl,
      keyManagerUrl: sandbox.keyManagerUrl,
      botUsername: sandbox.bot.username,
      privateKeyPem: sandbox.bot.privateKeyPem,
    },
    { retry: fastRetry, ...options },
  );
}

async function collect<T>(pages: AsyncIterable<T[]>): Promise<T[]> {
  const all: T[] = [];
  for await (const page of pages) all.push(...page);
  return all;
}

async function sha256(stream: Readable): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

const logins = () => sandbox.stats.byRoute["POST /login/pubkey/authenticate"] ?? 0;
/** The streams the bot is a member of: the agent refuses the others (403), as a real one does. */
const readable = () => sandbox.org.streams.filter((s) => s.botIsMember);
const busiestStream = () => {
  const [busiest] = [...readable()].sort((a, b) => b.messageCount - a.messageCount);
  if (!busiest) throw new Error("The sandbox organisation has no streams.");
  return busiest;
};

describe("Symphony client against the Symphony sandbox", () => {
  it("pages every stream and every message of the organisation exactly once, logging in once", async () => {
    const loginsBefore = logins();
    const symphony = client({ pageSize: { streams: 3, messages: 7 } });
    const streams = await collect(symphony.listStreams());
    expect(streams.map((s) => s.id).sort()).toEqual(sandbox.org.streams.map((s) => s.id).sort());

    const seen = new Set<string>();
    for (const stream of streams) {
      const known = sandbox.org.streams.find((s) => s.id === stream.id)!;
      if (!known.botIsMember) {
        await expect(collect(symphony.messages(stream.id, 0))).rejects.toMatchObject({
          code: "forbidden",
          status: 403,
        });
        continue;
      }
      const messages = await collect(symphony.messages(stream.id, 0));
      expect(messages, `stream ${stream.id}`).toHaveLength(known.messageCount);
      for (const m of messages) seen.add(`${stream.id}/${m.messageId}`);
      const times = messages.map((m) => m.timestamp ?? 0);
      expect(times).toEqual([...times].sort((a, b) => a - b));
    }
    expect(seen.size).toBe(readable().reduce((sum, s) => sum + s.messageCount, 0));
    expect(logins() - loginsBefore).toBe(1);
    expect(await symphony.countStreams()).toBe(sandbox.org.streams.length);
    expect(await symphony.countStreams({ streamTypes: ["ROOM"] })).toBe(
      sandbox.org.streams.filter((s) => s.type === "ROOM" && !s.groupChat).length,
    );
  });

  it("returns only messages stamped at or after `since`", async () => {
    const symphony = client({ pageSize: { messages: 4 } });
    const stream = busiestStream();
    const all = await collect(symphony.messages(stream.id));
    const middle = all[Math.floor(all.length / 2)];
    if (!middle) throw new Error("The busiest stream has no messages.");
    const since = middle.timestamp!;
    const recent = await collect(symphony.messages(stream.id, since));
    expect(recent.map((m) => m.messageId)).toEqual(all.filter((m) => m.timestamp! >= since).map((m) => m.messageId));
    expect(await collect(symphony.messages(stream.id, all.at(-1)!.timestamp! + 1))).toEqual([]);
  });

  it("asks for a page too large to read again in halves, down to one message, and reads every message once", async () => {
    const stream = busiestStream();
    const all = await collect(client().messages(stream.id));
    const largest = Math.max(...all.map((message) => Buffer.byteLength(JSON.stringify(message))));
    const total = Buffer.byteLength(JSON.stringify(all));
    // Room for a few messages at a time, far less than the whole stream.
    const maxResponseBytes = largest * 4;
    expect(total).toBeGreaterThan(maxResponseBytes * 4);
    const route = "GET /agent/v4/stream/{sid}/message";
    const before = sandbox.stats.byRoute[route] ?? 0;
    const halved = await collect(client({ maxResponseBytes }).messages(stream.id));
    expect(halved.map((m) => m.messageId)).toEqual(all.map((m) => m.messageId));
    expect((sandbox.stats.byRoute[route] ?? 0) - before).toBeGreaterThan(all.length / 4);
    // A message alone over the limit fails alone, in its place, saying where it is; the rest are read.
    const sizes = all.map((message) => Buffer.byteLength(JSON.stringify(message)));
    const read = await collect(client({ maxResponseBytes: largest - 1 }).messages(stream.id));
    expect(read).toHaveLength(all.length);
    const failed = read.flatMap((message, i) => (message.invalid === undefined ? [] : [i]));
    expect(failed).toContain(sizes.indexOf(largest));
    read.forEach((message, i) => {
      if (failed.includes(i)) {
        expect(message).toEqual({
          tooLarge: { after: expect.any(String) as unknown, nth: expect.any(Number) as unknown },
          invalid: expect.stringMatching(
            /^Symphony's answer holding this message alone is larger than the connector reads \(\d+ bytes\): the message was not read\. It is the \d+(st|nd|rd|th) message sent at or after \d{4}-\d\d-\d\dT[\d:.]+Z\.$/,
          ) as unknown,
        });
      } else expect(message.messageId).toBe(all[i]!.messageId);
    });
    // A server whose every answer is too large is broken, not its messages: the stream fails after 20 in a row.
    expect(all.length).toBeGreaterThan(20);
    const everyAnswer = collect(client({ maxResponseBytes: 10 }).messages(stream.id));
    await expect(everyAnswer).rejects.toThrow(/response larger than 10 bytes/);
  });

  it("re-authenticates once when the session is revoked in the middle of paging", async () => {
    const symphony = client({ pageSize: { messages: 5 } });
    const stream = busiestStream();
    const loginsBefore = logins();
    const messages: SymphonyMessage[] = [];
    for await (const page of symphony.messages(stream.id)) {
      if (messages.length === 0) sandbox.revokeSessions();
      messages.push(...page);
    }
    expect(new Set(messages.map((m) => m.messageId)).size).toBe(stream.messageCount);
    expect(logins() - loginsBefore).toBe(2);

    // Calls in flight together when the session dies sign in again once between them.
    sandbox.revokeSessions();
    const counts = await Promise.all(
      readable()
        .slice(0, 6)
        .map(async (s) => (await collect(symphony.messages(s.id))).length),
    );
    expect(counts).toEqual(
      readable()
        .slice(0, 6)
        .map((s) => s.messageCount),
    );
    expect(logins() - loginsBefore).toBe(3);
  });

  it("lists users and stream members across pages and looks users up by id and email", async () => {
    const symphony = client({ pageSize: { users: 5, members: 2 } });
    const users = await symphony.listUsers();
    expect(users.map((u) => u.userSystemInfo.id).sort()).toEqual(
      [sandbox.org.bot, ...sandbox.org.people].map((p) => p.id).sort(),
    );

    const room = sandbox.org.streams.find((s) => s.memberIds.length > 2)!;
    const members = await symphony.listStreamMembers(room.id);
    // The current members (someone who left is not listed), each with the time they joined.
    const current = sandbox.currentMembers(room.id);
    expect(members.map((m) => [m.user.userId, m.joinDate]).sort()).toEqual(
      current.map((m) => [m.person.id, m.joinDate]).sort(),
    );

    const [a, b] = sandbox.org.people.filter((p) => !p.external);
    if (!a || !b) throw new Error("The sandbox organisation needs two internal people.");
    const byId = await symphony.lookupUsers({ ids: [a.id, b.id] });
    expect(byId.map((u) => u.emailAddress)).toEqual([a.symphonyEmail, b.symphonyEmail]);
    const byEmail = await symphony.lookupUsers({ emails: [b.symphonyEmail, "nobody@nowhere.example"] });
    expect(byEmail.map((u) => u.id)).toEqual([b.id]);
    const external = sandbox.org.people.find((p) => p.external)!;
    expect(await symphony.lookupUsers({ ids: [external.id] })).toEqual([]);
    expect((await symphony.lookupUsers({ ids: [external.id], local: false })).map((u) => u.id)).toEqual([external.id]);
  });

  it("downloads the >10 MB attachment byte-identical", async () => {
    const symphony = client();
    const global = 7; // the sandbox puts its 10.8 MB file on the organisation's message 7
    const stream = sandbox.org.streams.find(
      (s) => s.messageOffset <= global && global < s.messageOffset + s.messageCount,
    )!;
    const messages = await collect(symphony.messages(stream.id));
    const message = messages[global - stream.messageOffset];
    const attachment = message?.attachments?.[0];
    if (!message || !attachment) throw new Error(`The organisation's message ${global} has no attachment.`);
    expect(attachment.size).toBeGreaterThan(10 * 1024 * 1024);
    const bytes = await symphony.downloadAttachment(stream.id, message.messageId!, attachment.id);
    expect(await sha256(bytes)).toBe(await sha256(attachmentBytes(sandbox.org.seed, attachment)));
  });

  it("streams a large attachment without holding it in memory", async () => {
    const size = 48 * 1024 * 1024;
    const stream = busiestStream();
    const message = sandbox.addMessage({
      streamId: stream.id,
      text: "big file",
      attachments: [{ name: "big.bin", size }],
    });
    const [attachment] = message.attachments;
    if (!attachment) throw new Error("The added message has no attachment.");
    const expected = await sha256(attachmentBytes(sandbox.org.seed, attachment));

    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 2);
    try {
      const bytes = await client().downloadAttachment(stream.id, message.messageId, attachment.id);
      let received = 0;
      const hash = createHash("sha256");
      for await (const chunk of bytes) {
        received += (chunk as Buffer).length;
        hash.update(chunk as Buffer);
        peak = Math.max(peak, process.memoryUsage().rss);
      }
      expect(received).toBe(size);
      expect(hash.digest("hex")).toBe(expected);
    } finally {
      clearInterval(sampler);
    }
    // Holding the file would cost its 48 MB plus 64 MB of base64 text.
    expect(peak - before).toBeLessThan(40 * 1024 * 1024);
  });

  it("survives 5xx and 429 answers and honours Retry-After", async () => {
    const retries: RetryEvent[] = [];
    const stream = busiestStream();
    const clean = await collect(client().messages(stream.id));

    sandbox.setFaults({ serverErrorShare: 0.25, throttleShare: 0.1, retryAfterSeconds: 0 });
    const symphony = client({ pageSize: { messages: 9, users: 4 }, onRetry: (event) => retries.push(event) });
    expect((await collect(symphony.messages(stream.id))).map((m) => m.messageId)).toEqual(
      clean.map((m) => m.messageId),
    );
    expect((await symphony.listUsers()).length).toBe(sandbox.org.people.length + 1);
    expect(retries.some((r) => r.reason === "HTTP 503")).toBe(true);
    expect(retries.some((r) => r.reason === "HTTP 429")).toBe(true);

    retries.length = 0;
    sandbox.setFaults({ serverErrorShare: 0, throttleShare: 0.5, retryAfterSeconds: 1 });
    // One request each (walls, listed per user, are left out).
    const rooms = { streamTypes: ["ROOM" as const, "MIM" as const] };
    await symphony.countStreams(rooms); // every second request is answered 429: this one passes,
    await symphony.countStreams(rooms); // this one waits and is retried
    const throttled = retries.filter((r) => r.reason === "HTTP 429");
    expect(throttled.length).toBeGreaterThan(0);
    // The test policy's backoff never exceeds 50 ms, so a 1 s wait can only come from Retry-After.
    expect(throttled.every((r) => r.delayMs === 1000)).toBe(true);
  });

  it("gives up after the configured attempts with a typed error that names the endpoint", async () => {
    const symphony = client({ retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 } });
    await symphony.authenticate();
    sandbox.setFaults({ serverErrorShare: 1 });
    const before = sandbox.stats.byStatus["503"] ?? 0;
    const error = await symphony.listUsers().catch((e: unknown) => e);
    expect(error).toMatchObject({
      name: "SymphonyError",
      code: "server_error",
      status: 503,
      endpoint: "GET /pod/v2/admin/user/list",
    });
    expect((sandbox.stats.byStatus["503"] ?? 0) - before).toBe(3);
  });

  it("reports an unknown stream as not_found without leaking tokens or the key", async () => {
    const symphony = client();
    const error = await collect(symphony.messages("bm90LWEtc3RyZWFt")).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "not_found", status: 404, endpoint: "GET /agent/v4/stream/{sid}/message" });
    const text = `${String(error)} ${JSON.stringify(error)}`;
    expect(text).not.toContain("PRIVATE KEY");
    expect(text).not.toMatch(/[0-9a-f]{128}/); // the sandbox's key manager tokens are 64 random bytes in hex
    expect(text).not.toMatch(/eyJ[\w-]{8,}\.[\w-]{8,}\./); // nor a JWT: its session token or the login token
  });

  it("creates, reads with ackId, redelivers unacknowledged events, and deletes a datafeed", async () => {
    const symphony = client();
    const feed = await symphony.createDatafeed();
    expect((await symphony.listDatafeeds()).map((f) => f.id)).toContain(feed.id);

    const stream = sandbox.org.streams.find((s) => s.botIsMember)!;
    const sent = sandbox.addMessage({ streamId: stream.id, text: "hello feed" });

    const first = await symphony.readDatafeed(feed.id);
    expect(first.events.map((e) => e.payload?.messageSent?.message.messageId)).toEqual([sent.messageId]);
    const again = await symphony.readDatafeed(feed.id); // not acknowledged: delivered again
    expect(again.events.map((e) => e.messageId)).toEqual([sent.messageId]);
    const afterAck = await symphony.readDatafeed(feed.id, again.ackId);
    expect(afterAck.events).toEqual([]);

    await symphony.deleteDatafeed(feed.id);
    expect((await symphony.listDatafeeds()).map((f) => f.id)).not.toContain(feed.id);
  });
});
