import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSymphonySandbox, type DatahoseEvent, type SymphonySandbox } from "./index";
import { loginHeaders, postJson } from "./test-client";

let sandbox: SymphonySandbox;
let headers: { sessionToken: string; keyManagerToken: string };
beforeAll(async () => {
  sandbox = await startSymphonySandbox({
    seed: "hose",
    org: { users: 8, messages: 40 },
    datahose: { readTimeoutMs: 200, visibilityTimeoutMs: 400 },
  });
  headers = await loginHeaders(sandbox);
});
afterAll(() => sandbox.close());

type Read = { events: DatahoseEvent[]; ackId: string };
const EVENT_TYPES = ["MESSAGESENT", "MESSAGESUPPRESSED", "USERJOINEDROOM", "USERLEFTROOM"];
const read = async (tag: string, ackId = "", extra: Record<string, unknown> = {}, auth: object = headers) => {
  const res = await postJson(
    `${sandbox.agentUrl}/agent/v5/events/read`,
    { type: "datahose", tag, eventTypes: EVENT_TYPES, ackId, updatePresence: false, ...extra },
    auth as Record<string, string>,
  );
  return { status: res.status, json: (await res.json()) as Read };
};
const messageIds = (events: DatahoseEvent[]) => events.map((event) => event.messageId);

describe("Datahose", () => {
  it("carries every conversation of the pod, not only the bot's", async () => {
    await read("all"); // the first read creates the feed
    const notTheBots = sandbox.org.streams.find((s) => !s.botIsMember && s.isActive)!;
    const added = sandbox.addMessage({ streamId: notTheBots.id, text: "nobody told the bot" });
    const got = await read("all");
    expect(got.status).toBe(200);
    expect(got.json.events).toHaveLength(1);
    expect(got.json.events[0]).toMatchObject({ type: "MESSAGESENT", messageId: added.messageId });
    expect(got.json.events[0]!.payload).toEqual({ messageSent: { message: added } });
  });

  it("shares one feed between readers of the same tag, and redelivers a batch nobody acknowledged", async () => {
    await read("shared");
    sandbox.setDatahose({ visibilityTimeoutMs: 100 });
    const stream = sandbox.org.streams.find((s) => s.isActive)!;
    const first = sandbox.addMessage({ streamId: stream.id, text: "one" });
    const a = await read("shared");
    expect(messageIds(a.json.events)).toEqual([first.messageId]);
    // Another reader of the same feed does not get the batch in flight...
    const second = sandbox.addMessage({ streamId: stream.id, text: "two" });
    const b = await read("shared");
    expect(messageIds(b.json.events)).toEqual([second.messageId]);
    // ...b acknowledges its batch, a never does: a's comes back once its visibility timeout has passed.
    const again = await read("shared", b.json.ackId);
    expect(messageIds(again.json.events)).toEqual([first.messageId]);
    sandbox.setDatahose({ visibilityTimeoutMs: 400 });
    const done = await read("shared", again.json.ackId);
    expect(done.json.events).toEqual([]);
  });

  it("delivers duplicates and out of order when asked to", async () => {
    await read("messy");
    sandbox.setDatahose({ duplicateShare: 0.5, outOfOrder: true });
    const stream = sandbox.org.streams.find((s) => s.isActive)!;
    const sent = Array.from({ length: 4 }, (_, i) => sandbox.addMessage({ streamId: stream.id, text: `m${i}` }));
    const seen: string[] = [];
    let ackId = "";
    for (let i = 0; i < 4; i++) {
      const got = await read("messy", ackId);
      seen.push(...messageIds(got.json.events).map(String));
      ackId = got.json.ackId;
    }
    sandbox.setDatahose({ duplicateShare: 0, outOfOrder: false });
    expect(new Set(seen)).toEqual(new Set(sent.map((m) => m.messageId)));
    expect(seen.length).toBe(6); // every other event twice
    expect(seen.slice(0, 4)).not.toEqual(sent.map((m) => m.messageId));
  });

  it("sends MESSAGESUPPRESSED and room joins and leaves", async () => {
    await read("compliance");
    const room = sandbox.org.streams.find((s) => s.type === "ROOM")!;
    const message = sandbox.history(room.id)[0]!;
    sandbox.suppressMessage({ streamId: room.id, messageId: message.messageId });
    sandbox.roomMembershipEvent({ streamId: room.id, userId: sandbox.org.people[1]!.id, change: "joined" });
    const got = await read("compliance");
    expect(got.json.events.map((e) => e.type)).toEqual(["MESSAGESUPPRESSED", "USERJOINEDROOM"]);
    expect(got.json.events[0]!.payload).toMatchObject({
      messageSuppressed: { messageId: message.messageId, stream: { streamId: room.id } },
    });
    expect(got.json.events[1]!.payload).toMatchObject({
      userJoinedRoom: { stream: { streamId: room.id }, affectedUser: { userId: sandbox.org.people[1]!.id } },
    });
  });

  it("generates live traffic at the rate set", async () => {
    await read("live");
    sandbox.setDatahose({ messagesPerSecond: 40 });
    await new Promise((resolve) => setTimeout(resolve, 500));
    sandbox.setDatahose({ messagesPerSecond: 0 });
    let events = 0;
    for (let ackId = "", got; (got = await read("live", ackId)).json.events.length > 0; ackId = got.json.ackId)
      events += got.json.events.length;
    expect(events).toBeGreaterThan(5);
  });

  it("refuses a bad body, an expired session, a pod without the add-on, and passes faults", async () => {
    expect((await read("bad", "", { type: "datafeed" })).status).toBe(400);
    expect((await read("x".repeat(81))).status).toBe(400);
    expect((await read("bad", "", { eventTypes: [] })).status).toBe(400);
    expect((await read("bad", "", {}, { sessionToken: "expired", keyManagerToken: "x" })).status).toBe(401);
    sandbox.setDatahose({ entitled: false });
    expect((await read("bad")).status).toBe(403);
    sandbox.setDatahose({ entitled: true });
    sandbox.setFaults({ serverErrorShare: 1 });
    expect((await read("bad")).status).toBe(503);
    sandbox.setFaults({ serverErrorShare: 0, throttleShare: 1 });
    expect((await read("bad")).status).toBe(429);
    sandbox.setFaults({ throttleShare: 0 });
  });

  it("is configured through the admin API", async () => {
    const put = await fetch(`${sandbox.podUrl}/sandbox/datahose`, {
      method: "PUT",
      body: JSON.stringify({ messagesPerSecond: 0, duplicateShare: 0.1 }),
    });
    expect(put.status).toBe(200);
    const got = (await (await fetch(`${sandbox.podUrl}/sandbox/datahose`)).json()) as { duplicateShare: number };
    expect(got.duplicateShare).toBe(0.1);
    sandbox.setDatahose({ duplicateShare: 0 });
  });

  it("carries a shared wall post as SHAREDPOST: the sharer's post and the post it shares", async () => {
    await read("shares", "", { eventTypes: ["MESSAGESENT", "SHAREDPOST"] });
    // This small organisation has one wall: its author shares one of their own posts.
    const wall = sandbox.org.streams.find((s) => s.type === "POST" && s.messageCount > 0);
    const other = wall;
    const original = sandbox.history(other!.id)[0]!;
    const share = sandbox.addMessage({
      streamId: wall!.id,
      text: "worth a read",
      shares: { streamId: other!.id, messageId: original.messageId },
    });
    const got = await read("shares", "", { eventTypes: ["MESSAGESENT", "SHAREDPOST"] });
    expect(got.json.events).toHaveLength(1);
    const { sharedMessage: _, ...sharersPost } = share;
    expect(got.json.events[0]).toMatchObject({ type: "SHAREDPOST", messageId: share.messageId });
    expect(got.json.events[0]!.payload).toEqual({ sharedPost: { message: sharersPost, sharedMessage: original } });
    // The wall's history lists the share with the post it shares.
    expect(sandbox.history(wall!.id).at(-1)).toMatchObject({ messageId: share.messageId, sharedMessage: original });
    expect(() =>
      sandbox.addMessage({
        streamId: sandbox.org.streams.find((s) => s.type === "ROOM")!.id,
        shares: { streamId: other!.id, messageId: original.messageId },
      }),
    ).toThrow(/wall/);
  });
});
