import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSymphonySandbox, type SymphonySandbox, type V4Event } from "./index";
import { loginHeaders, postJson } from "./test-client";

let sandbox: SymphonySandbox;
let headers: { sessionToken: string; keyManagerToken: string };
beforeAll(async () => {
  sandbox = await startSymphonySandbox({ seed: "feed", org: { users: 8, messages: 40 }, datafeedTimeoutMs: 300 });
  headers = await loginHeaders(sandbox);
});
afterAll(() => sandbox.close());

type Read = { events: V4Event[]; ackId: string };
const read = async (id: string, ackId: string) => {
  const res = await postJson(`${sandbox.agentUrl}/agent/v5/datafeeds/${id}/read`, { ackId }, headers);
  return { status: res.status, json: (await res.json()) as Read };
};

describe("datafeed v2", () => {
  it("creates, lists and deletes feeds", async () => {
    const created = await postJson(`${sandbox.agentUrl}/agent/v5/datafeeds`, {}, headers);
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    const listed = (await (await fetch(`${sandbox.agentUrl}/agent/v5/datafeeds`, { headers })).json()) as Array<{
      id: string;
    }>;
    expect(listed.map((f) => f.id)).toContain(id);
    expect((await fetch(`${sandbox.agentUrl}/agent/v5/datafeeds/${id}`, { method: "DELETE", headers })).status).toBe(
      200,
    );
    expect((await read(id, "")).status).toBe(400);
    expect((await fetch(`${sandbox.agentUrl}/agent/v5/datafeeds/${id}`, { method: "DELETE", headers })).status).toBe(
      400,
    );
  });

  it("long-polls, delivers added messages of the bot's streams, and redelivers until acknowledged", async () => {
    const { id } = (await (await postJson(`${sandbox.agentUrl}/agent/v5/datafeeds`, {}, headers)).json()) as {
      id: string;
    };
    const started = Date.now();
    const idle = await read(id, "");
    expect(idle.status).toBe(200);
    expect(idle.json.events).toEqual([]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);

    const seen = sandbox.org.streams.find((s) => s.botIsMember)!;
    const unseen = sandbox.org.streams.find((s) => !s.botIsMember)!;
    const waiting = read(id, idle.json.ackId);
    sandbox.addMessage({ streamId: unseen.id, text: "not for the bot" });
    const added = sandbox.addMessage({ streamId: seen.id, text: "hello feed" });
    const first = await waiting;
    expect(first.json.events).toHaveLength(1);
    expect(first.json.events[0]).toMatchObject({
      type: "MESSAGESENT",
      messageId: added.messageId,
      initiator: { user: { userId: added.user.userId } },
    });
    expect(first.json.events[0]?.payload.messageSent.message).toEqual(added);

    // Not acknowledged (the previous ackId is sent again): the same event comes back.
    const again = await read(id, idle.json.ackId);
    expect(again.json.events.map((e) => e.id)).toEqual(first.json.events.map((e) => e.id));
    // Acknowledged: nothing more.
    const after = await read(id, again.json.ackId);
    expect(after.json.events).toEqual([]);
  });

  it("needs both tokens", async () => {
    const res = await postJson(`${sandbox.agentUrl}/agent/v5/datafeeds`, {}, { sessionToken: headers.sessionToken });
    expect(res.status).toBe(401);
  });
});
