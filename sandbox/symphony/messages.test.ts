import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { attachmentBytes } from "./attachments";
import type { OrgStream } from "../org";
import { startSymphonySandbox, type SymphonySandbox, type V4Message } from "./index";
import { loginHeaders } from "./test-client";

let sandbox: SymphonySandbox;
let headers: Record<string, string>;
beforeAll(async () => {
  sandbox = await startSymphonySandbox({
    seed: "messages",
    org: { users: 8, messages: 1800, streams: 5, end: Date.UTC(2026, 9, 1) },
  });
  headers = await loginHeaders(sandbox);
});
afterAll(() => sandbox.close());

const messagesUrl = (sid: string, q: string) => `${sandbox.agentUrl}/agent/v4/stream/${sid}/message?${q}`;
/** The streams the bot is a member of: the agent answers 403 for the others (membership.test.ts). */
const readable = () => sandbox.org.streams.filter((s) => s.botIsMember);

/** The stream with the most messages (the organisation always has streams). */
function busiest(streams: OrgStream[]): OrgStream {
  return [...streams].sort((a, b) => b.messageCount - a.messageCount)[0]!;
}

async function allMessages(sid: string, since = 0): Promise<V4Message[]> {
  const all: V4Message[] = [];
  for (;;) {
    const res = await fetch(messagesUrl(sid, `since=${since}&skip=${all.length}&limit=500`), { headers });
    if (res.status === 204) return all;
    const page = (await res.json()) as V4Message[];
    all.push(...page);
    if (page.length < 500) return all;
  }
}

describe("stream messages", () => {
  it("pages a stream's messages oldest first, 500 at most, with since", async () => {
    const stream = busiest(readable());
    expect(stream.messageCount).toBeGreaterThan(500);
    const all = await allMessages(stream.id);
    expect(all).toHaveLength(stream.messageCount);
    expect(new Set(all.map((m) => m.messageId)).size).toBe(all.length);
    expect(all.every((m, i) => i === 0 || m.timestamp > all[i - 1]!.timestamp)).toBe(true);
    expect(all.every((m) => /^[A-Za-z0-9_-]+$/.test(m.messageId) && m.stream.streamId === stream.id)).toBe(true);
    const since = all[300]!.timestamp;
    expect((await allMessages(stream.id, since)).map((m) => m.messageId)).toEqual(
      all.slice(300).map((m) => m.messageId),
    );
    const fiftyByDefault = (await (await fetch(messagesUrl(stream.id, "since=0"), { headers })).json()) as V4Message[];
    expect(fiftyByDefault).toHaveLength(50);
    const beyond = await fetch(messagesUrl(stream.id, `since=${all.at(-1)!.timestamp + 1}`), { headers });
    expect(beyond.status).toBe(204);
  });

  it("answers 400 to bad parameters and 404 to an unknown stream", async () => {
    const sid = readable()[0]!.id;
    for (const q of ["", "since=abc", "since=0&limit=501", "since=0&limit=0", "since=0&skip=-3"]) {
      const res = await fetch(messagesUrl(sid, q), { headers });
      expect(res.status, q).toBe(400);
      expect(await res.json()).toMatchObject({ code: 400, message: expect.any(String) as unknown });
    }
    const unknown = await fetch(messagesUrl("AAAAAAAAAAAAAAAAAAAAAAAA", "since=0"), { headers });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ code: 404 });
  });

  it("carries PresentationML with entities, hostile markup, edits, replies and attachments", async () => {
    const all = (await Promise.all(readable().map((s) => allMessages(s.id)))).flat();
    const bodies = all.map((m) => m.message);
    expect(bodies.every((b) => b.startsWith('<div data-format="PresentationML" data-version="2.0"'))).toBe(true);
    const mention = all.find(
      (m) => m.message.includes('class="entity"') && m.data.includes("com.symphony.user.mention"),
    )!;
    const [, entityId = ""] = /data-entity-id="(\w+)"/.exec(mention.message) ?? [];
    const data = JSON.parse(mention.data) as Record<string, { type: string } | undefined>;
    expect(data[entityId]?.type).toBe("com.symphony.user.mention");
    for (const needle of [
      "<table>",
      "<ul>",
      "<b>",
      "<pre><code>",
      "🎉",
      'dir="rtl"',
      "明日",
      "<script>",
      "onerror=",
      "javascript:",
      "<iframe",
      "org.symphonyoss.fin.security",
    ]) {
      expect(
        all.some((m) => m.message.includes(needle) || m.data.includes(needle)),
        needle,
      ).toBe(true);
    }
    const edit = all.find((m) => m.initialMessageId)!;
    expect(all.find((m) => m.messageId === edit.initialMessageId)?.timestamp).toBe(edit.initialTimestamp);
    const reply = all.find((m) => m.parentMessageId)!;
    expect(all.some((m) => m.messageId === reply.parentMessageId)).toBe(true);
    const sizes = all.flatMap((m) => m.attachments.map((a) => a.size));
    expect(sizes.some((s) => s > 3_000_000 && s < 10_000_000)).toBe(true);
    expect(sizes.some((s) => s > 10 * 1024 * 1024)).toBe(true);
  });

  it("serves attachment bytes as base64, including the one over 10 MB", async () => {
    const all = (await Promise.all(readable().map((s) => allMessages(s.id)))).flat();
    const withFiles = all.filter((m) => m.attachments.length > 0);
    const big = withFiles.find((m) => m.attachments[0]!.size > 10 * 1024 * 1024)!;
    const small = withFiles.find((m) => m.attachments[0]!.size < 1024 * 1024)!;
    for (const message of [small, big]) {
      const file = message.attachments[0]!;
      const url = `${sandbox.agentUrl}/agent/v1/stream/${message.stream.streamId}/attachment?fileId=${encodeURIComponent(file.id)}&messageId=${message.messageId}`;
      const res = await fetch(url, { headers });
      expect(res.status).toBe(200);
      const bytes = Buffer.from(await res.text(), "base64");
      expect(bytes.length).toBe(file.size);
      const expected = createHash("sha256");
      for await (const chunk of attachmentBytes(sandbox.org.seed, file)) expected.update(chunk as Buffer);
      expect(createHash("sha256").update(bytes).digest("hex")).toBe(expected.digest("hex"));
    }
    const file = small.attachments[0]!;
    const wrong = await fetch(
      `${sandbox.agentUrl}/agent/v1/stream/${small.stream.streamId}/attachment?fileId=nope&messageId=${small.messageId}`,
      { headers },
    );
    expect(wrong.status).toBe(404);
    const missing = await fetch(
      `${sandbox.agentUrl}/agent/v1/stream/${small.stream.streamId}/attachment?messageId=${small.messageId}&file=${file.id}`,
      { headers },
    );
    expect(missing.status).toBe(400);
  });

  it("shows messages added while running after the generated ones", async () => {
    const stream = readable()[1]!;
    const before = await allMessages(stream.id);
    const added = sandbox.addMessage({
      streamId: stream.id,
      text: "Added <live> & well",
      attachments: [{ name: "live.bin", size: 4000 }],
    });
    const res = await fetch(`${sandbox.podUrl}/sandbox/messages`, {
      method: "POST",
      body: JSON.stringify({ streamId: stream.id, text: "second" }),
    });
    expect(res.status).toBe(201);
    const after = await allMessages(stream.id);
    expect(after).toHaveLength(before.length + 2);
    expect(after.at(-2)).toEqual(added);
    expect(added.message).toContain("Added &lt;live&gt; &amp; well");
    const since = await allMessages(stream.id, added.timestamp);
    expect(since.map((m) => m.messageId)).toEqual(after.slice(-2).map((m) => m.messageId));
    const file = await fetch(
      `${sandbox.agentUrl}/agent/v1/stream/${stream.id}/attachment?fileId=${encodeURIComponent(added.attachments[0]!.id)}&messageId=${added.messageId}`,
      { headers },
    );
    expect(Buffer.from(await file.text(), "base64")).toHaveLength(4000);
  });

  it("lists messages in the times the pod stamped on them, one stamped ahead by a fast clock last", async () => {
    const stream = readable()[0]!;
    const ahead = sandbox.addMessage({ streamId: stream.id, text: "stamped ahead", timestamp: Date.now() + 60_000 });
    const later = sandbox.addMessage({ streamId: stream.id, text: "sent after it, stamped now" });
    expect(later.timestamp).toBeLessThan(ahead.timestamp);
    const all = await allMessages(stream.id);
    expect(all.slice(-2).map((m) => m.messageId)).toEqual([later.messageId, ahead.messageId]);
    expect((await allMessages(stream.id, ahead.timestamp)).map((m) => m.messageId)).toEqual([ahead.messageId]);
  });
});

describe("a 1,000,000-message organisation", () => {
  it("serves any page of its busiest stream without materialising the messages", async () => {
    const before = process.memoryUsage().heapUsed;
    const big = await startSymphonySandbox({
      seed: "big",
      org: { users: 300, messages: 1_000_000 },
      botKey: sandbox.bot,
    });
    try {
      const h = await loginHeaders(big);
      const stream = busiest(big.org.streams.filter((s) => s.botIsMember));
      const res = await fetch(
        `${big.agentUrl}/agent/v4/stream/${stream.id}/message?since=0&skip=${stream.messageCount - 10}&limit=500`,
        { headers: h },
      );
      const page = (await res.json()) as V4Message[];
      expect(page).toHaveLength(10);
      expect(page.every((m, i) => i === 0 || m.timestamp > page[i - 1]!.timestamp)).toBe(true);
      expect(process.memoryUsage().heapUsed - before).toBeLessThan(50 * 1024 * 1024);
    } finally {
      await big.close();
    }
  });
});
