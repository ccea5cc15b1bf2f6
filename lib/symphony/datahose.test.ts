import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSymphonySandbox, type SymphonySandbox } from "@/sandbox/symphony/index";
import { createSymphonyClient } from "./client";
import { checkDatahose } from "./datahose-check";
import { SymphonyError } from "./errors";
import { datahoseReadSchema, messageListSchema } from "./schemas";

let sandbox: SymphonySandbox;
beforeAll(async () => {
  sandbox = await startSymphonySandbox({
    seed: "lib-datahose",
    org: { users: 8, messages: 40 },
    datafeedTimeoutMs: 300,
  });
});
afterAll(() => sandbox?.close());

const settings = () => ({
  podUrl: sandbox.podUrl,
  agentUrl: sandbox.agentUrl,
  keyManagerUrl: sandbox.keyManagerUrl,
  botUsername: sandbox.bot.username,
  privateKeyPem: sandbox.bot.privateKeyPem,
});
const client = () =>
  createSymphonyClient(settings(), {
    retry: { maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 20 },
    allowPrivateHosts: true,
  });
const feed = { tag: "lib-test", eventTypes: ["MESSAGESENT", "MESSAGESUPPRESSED"] };

describe("readDatahose", () => {
  it("reads every conversation's messages, acknowledges with the next read, and signs in again after expiry", async () => {
    const symphony = client();
    const first = await symphony.readDatahose({ ...feed, ackId: "" });
    const stream = sandbox.org.streams.find((s) => !s.botIsMember && s.isActive)!;
    const sent = sandbox.addMessage({ streamId: stream.id, text: "hello" });
    sandbox.revokeSessions();
    const read = await symphony.readDatahose({ ...feed, ackId: first.ackId ?? "" });
    expect(read.events).toHaveLength(1);
    expect(read.events[0]).toMatchObject({
      type: "MESSAGESENT",
      payload: { messageSent: { message: { messageId: sent.messageId, stream: { streamId: stream.id } } } },
    });
    const after = await symphony.readDatahose({ ...feed, ackId: read.ackId ?? "" });
    expect(after.events).toEqual([]);
  });

  it("reads leniently: an event that does not fit fails alone, a missing ackId acknowledges nothing", () => {
    const parsed = datahoseReadSchema.parse({
      events: [
        { type: "MESSAGESENT", payload: { messageSent: { message: { messageId: "a", timestamp: "soon" } } } },
        { type: 42, messageId: "b" },
        {
          type: "USERJOINEDROOM",
          payload: { userJoinedRoom: { stream: { streamId: "s" }, affectedUser: { userId: 7 } } },
        },
      ],
    });
    expect(parsed.ackId).toBeUndefined();
    expect(parsed.events[0]?.payload?.messageSent?.message).toMatchObject({
      messageId: "a",
      invalid: expect.any(String) as unknown,
    });
    expect(parsed.events[1]).toMatchObject({
      messageId: "b",
      invalid: expect.stringContaining("cannot read") as unknown,
    });
    expect(parsed.events[2]?.payload?.userJoinedRoom?.affectedUser?.userId).toBe(7);
  });

  it("keeps the message of an event that does not fit, and the conversation and sender of a message that does not", () => {
    const stream = { streamId: "s1", streamType: "ROOM" };
    const { events } = datahoseReadSchema.parse({
      events: [
        {
          id: "e1",
          type: "MESSAGESENT",
          initiator: { user: { userId: "71811853189121" } },
          payload: {
            messageSent: { message: { messageId: "m1", timestamp: 1700000000000, message: "<div/>", stream } },
          },
        },
        {
          type: "MESSAGESENT",
          payload: { messageSent: { message: { messageId: "m2", timestamp: 1.5, stream, user: { userId: 7 } } } },
        },
      ],
    });
    expect(events[0]).toMatchObject({
      id: "e1",
      invalid: expect.stringContaining("initiator.user.userId") as unknown,
      payload: { messageSent: { message: { messageId: "m1", message: "<div/>", stream } } },
    });
    expect(events[0]?.payload?.messageSent?.message?.invalid).toBeUndefined();
    expect(events[1]?.payload?.messageSent?.message).toMatchObject({
      messageId: "m2",
      stream,
      user: { userId: 7 },
      invalid: expect.stringContaining("timestamp") as unknown,
    });
  });

  it("reads a SHAREDPOST's message with the post it shares; a shared post that does not fit is kept as sent", () => {
    const wall = { streamId: "w1", streamType: "POST" };
    const original = { messageId: "o1", timestamp: 1700000000000, message: "<div>rates</div>", user: { userId: 8 } };
    const { events } = datahoseReadSchema.parse({
      events: [
        {
          type: "SHAREDPOST",
          payload: { sharedPost: { message: { messageId: "m1", stream: wall }, sharedMessage: original } },
        },
        {
          // An event of the wrong shape otherwise (its initiator) keeps its share.
          type: "SHAREDPOST",
          initiator: { user: { userId: "not a number" } },
          payload: { sharedPost: { message: { messageId: "m2", stream: wall }, sharedMessage: original } },
        },
        {
          type: "SHAREDPOST",
          payload: { sharedPost: { message: { messageId: "m3", stream: wall }, sharedMessage: { attachments: 7 } } },
        },
      ],
    });
    expect(events[0]?.payload?.sharedPost?.message).toMatchObject({ messageId: "m1", sharedMessage: original });
    expect(events[1]).toMatchObject({
      invalid: expect.stringContaining("initiator") as unknown,
      payload: { sharedPost: { message: { messageId: "m2", sharedMessage: original } } },
    });
    // The share is kept; the post it shares is kept as sent, with why it cannot be read.
    const m3 = events[2]?.payload?.sharedPost?.message;
    expect(m3).toMatchObject({ messageId: "m3", stream: wall });
    expect(m3?.invalid).toBeUndefined();
    expect(m3?.sharedMessage).toEqual({
      unreadable: expect.stringContaining("attachments") as unknown,
      raw: '{"attachments":7}',
    });
  });

  it("keeps a share whose post is nested deeper than JSON can be written again, failing only the post", () => {
    // 60 KB that JSON.parse reads and JSON.stringify cannot write (its stack ends first).
    const depth = 20_000;
    const text = `{"type":"SHAREDPOST","payload":{"sharedPost":{"message":{"messageId":"m4"},"sharedMessage":{"messageId":"o4","extra":${"[".repeat(depth)}${"]".repeat(depth)}}}}}`;
    expect(() => JSON.stringify(JSON.parse(text))).toThrow(RangeError);
    const { events } = datahoseReadSchema.parse({ events: [JSON.parse(text)] });
    const message = events[0]?.payload?.sharedPost?.message;
    expect(message).toMatchObject({ messageId: "m4" });
    expect(message?.sharedMessage).toEqual({
      messageId: "o4",
      unreadable: "(root): nested too deeply to be kept as sent",
      raw: "",
    });
    // The same post in a conversation's message list.
    const sharedMessage = (JSON.parse(text) as { payload: { sharedPost: { sharedMessage: unknown } } }).payload
      .sharedPost.sharedMessage;
    const page = messageListSchema.parse([{ messageId: "m5", sharedMessage }]);
    expect(page[0]).toMatchObject({ messageId: "m5", sharedMessage: { messageId: "o4", raw: "" } });
    expect(page[0]?.invalid).toBeUndefined();
  });

  it("tells a pod without the add-on (403) from one with it", async () => {
    const options = { retry: { maxAttempts: 1 }, requestTimeoutMs: 10_000, allowPrivateHosts: true };
    expect(await checkDatahose(settings(), feed, options)).toBe("entitled");
    sandbox.setDatahose({ entitled: false });
    try {
      expect(await checkDatahose(settings(), feed, options)).toBe("not_entitled");
      await expect(client().readDatahose({ ...feed, ackId: "" })).rejects.toMatchObject({ code: "forbidden" });
      await expect(client().readDatahose({ ...feed, ackId: "" })).rejects.toBeInstanceOf(SymphonyError);
    } finally {
      sandbox.setDatahose({ entitled: true });
    }
  });
});
