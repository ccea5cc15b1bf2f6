// Datahose events the connector does not expect: an event with a field of another type keeps its
// message, which is imported; a message that does not fit, or comes without an id, fails alone with
// its reason in each member's ledger row. Nothing is acknowledged without a trace.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { db } from "@/lib/db";
import { canRun, graphGet, startHarness, type Harness } from "@/lib/testing";
import type { ExportChatItem } from "@/lib/content-export";
import { capturedFileMatches } from "./captured-files";
import { drainRun, openCapture } from "./index";

if (!canRun) console.warn("lib/pipeline Datahose hostile-event test skipped: needs vitest's globalSetup");

describe.skipIf(!canRun)("Datahose events that do not fit", () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ seed: "datahose-hostile", users: 6, messages: 20, largeAttachments: false });
    h.connector = await db.connector.update({
      where: { id: h.connector.id },
      data: { sourceKind: "DATAHOSE", status: "DRAFT" },
    });
    h.symphony.setDatahose({ readTimeoutMs: 300 });
  });
  // The connector is a DRAFT (a paused one would stop drainRun): these tests read its feed themselves,
  // and no worker of another test file (they share the database) may capture it meanwhile.
  afterAll(() => h?.close());

  /** A MESSAGESENT event carrying `message` as it is, fitting V4Message or not. */
  const publishMessageSent = (id: string, message: Record<string, unknown>) =>
    h.symphony.publishRawDatahoseEvent({ id, type: "MESSAGESENT", payload: { messageSent: { message } } });

  /** A room with history, its latest message, the connector's capture and a Continuous run to record into. */
  async function captureInRoom() {
    const room = h.symphony.org.streams.find(
      (stream) => stream.type === "ROOM" && stream.isActive && h.symphony.history(stream.id).length > 0,
    )!;
    // The latest message Symphony could read (a test adds one it could not).
    const sample = h.symphony
      .history(room.id)
      .filter((message) => message.diagnostic === undefined)
      .at(-1)!;
    const capture = await openCapture(h.connector.id, { environment: h.environment });
    const run = await db.importRun.create({
      data: { connectorId: h.connector.id, trigger: "CONTINUOUS", status: "RUNNING", startedAt: new Date() },
    });
    return { room, sample, capture, run };
  }

  it("imports the message of an event that does not fit, and fails a message that does not fit alone", async () => {
    const room = h.symphony.org.streams.find(
      (stream) => stream.type === "ROOM" && stream.isActive && h.symphony.history(stream.id).length > 0,
    )!;
    const sample = h.symphony.history(room.id).at(-1)!;
    const members = h.symphony.currentMembers(room.id);
    expect(members.length).toBeGreaterThan(1);
    const capture = await openCapture(h.connector.id, { environment: h.environment });
    const run = await db.importRun.create({
      data: { connectorId: h.connector.id, trigger: "CONTINUOUS", status: "RUNNING", startedAt: new Date() },
    });
    let { ackId } = await capture.read("");

    const now = Date.now();
    const message = (id: string | undefined, fields: Record<string, unknown>) => ({
      ...(id !== undefined && { messageId: id }),
      timestamp: now,
      message: `<div data-format="PresentationML" data-version="2.0">${id ?? "no id"}</div>`,
      user: sample.user,
      stream: sample.stream,
      ...fields,
    });
    // The initiator's user id as a string: the event does not fit V4Event, its message does.
    h.symphony.publishRawDatahoseEvent({
      id: "event-initiator",
      type: "MESSAGESENT",
      timestamp: now,
      initiator: { user: { userId: String(sample.user.userId) } },
      payload: { messageSent: { message: message("hostile-initiator", {}) } },
    });
    // A time with a fraction: the message does not fit V4Message.
    h.symphony.publishRawDatahoseEvent({
      id: "event-time",
      type: "MESSAGESENT",
      payload: { messageSent: { message: message("hostile-time", { timestamp: now + 0.5 }) } },
    });
    // Neither a message id nor a readable attachment.
    const noId = message(undefined, { attachments: [{ name: "a.pdf" }] });
    h.symphony.publishRawDatahoseEvent({
      id: "event-no-id",
      type: "MESSAGESENT",
      payload: { messageSent: { message: noId } },
    });

    const read = await capture.read(ackId ?? "");
    expect(read.events).toHaveLength(3);
    const batch = await capture.record(read.events, run.id);
    expect(batch).toMatchObject({ events: 3, messages: 3, added: 3 });
    ackId = read.ackId;
    // Delivered again (no acknowledgement in time): nothing is recorded twice.
    h.symphony.publishRawDatahoseEvent({
      id: "event-no-id",
      type: "MESSAGESENT",
      payload: { messageSent: { message: noId } },
    });
    const again = await capture.read(ackId ?? "");
    expect(await capture.record(again.events, run.id)).toMatchObject({ messages: 1, added: 0 });
    await drainRun(run.id, { workerId: "datahose-hostile-test", environment: h.environment });

    const rows = await db.sourceMessage.findMany({
      where: { connectorId: h.connector.id },
      include: { items: { select: { status: true, reason: true } } },
    });
    expect(rows).toHaveLength(3);
    const byId = new Map(rows.map((row) => [row.messageId, row]));
    const imported = byId.get("hostile-initiator")!;
    expect(imported.items.length).toBeGreaterThan(1);
    expect(imported.items.map((item) => item.status)).toEqual(imported.items.map(() => "IMPORTED"));

    const badTime = byId.get("hostile-time")!;
    expect(badTime.streamId).toBe(room.id);
    expect(badTime.items).toHaveLength(imported.items.length);
    for (const item of badTime.items) {
      expect(item).toEqual({
        status: "FAILED",
        reason: expect.stringMatching(/^Symphony sent a message the connector cannot read \(timestamp: /) as unknown,
      });
    }
    const keyed = rows.find((row) => row.messageId.startsWith("datahose-"))!;
    expect(keyed.streamId).toBe(room.id);
    expect(keyed.items.length).toBeGreaterThan(0);
    for (const item of keyed.items) {
      expect(item.status).toBe("FAILED");
      expect(item.reason).toMatch(/^Symphony sent a message the connector cannot read \(attachments\.0\.id: /);
    }
  });

  it("records messages whose id holds NUL or passes an index entry's size, failing only them, and skips a sender no mailbox can have", async () => {
    const { sample, capture, run } = await captureInRoom();
    let { ackId } = await capture.read("");
    const nulId = "key-with-\u0000-nul";
    const longId = randomBytes(3000).toString("base64"); // 4,000 characters nothing compresses
    const stranger = { userId: 990_001, email: "\ud800stranger@bank.example", displayName: "Stranger" };
    const publish = (id: string, messageId: string, user = sample.user) =>
      publishMessageSent(id, {
        ...sample,
        messageId,
        timestamp: Date.now(),
        user,
        message: `<div data-format="PresentationML" data-version="2.0">${id}</div>`,
      });
    const publishAll = () => {
      publish("event-nul", nulId);
      publish("event-long", longId);
      publish("event-stranger", "from-a-stranger", stranger as typeof sample.user);
    };
    publishAll();
    const read = await capture.read(ackId ?? "");
    expect(await capture.record(read.events, run.id)).toMatchObject({ events: 3, messages: 3, added: 3 });
    ackId = read.ackId;
    // Delivered again: each is found by its stored key, none recorded twice.
    publishAll();
    const again = await capture.read(ackId ?? "");
    expect(await capture.record(again.events, run.id)).toMatchObject({ messages: 3, added: 0 });
    await drainRun(run.id, { workerId: "datahose-hostile-test", environment: h.environment });

    const rows = await db.sourceMessage.findMany({
      where: { connectorId: h.connector.id, runId: run.id },
      include: { items: { select: { mailbox: true, status: true, reason: true } } },
    });
    const byId = new Map(rows.map((row) => [row.messageId, row]));
    const long = rows.find((row) => row.messageId.startsWith(longId.slice(0, 200)))!;
    expect(long.messageId).toMatch(/^.{200}… \(sha256 [0-9a-f]{64}\)$/);
    // Recorded (before, such a key failed its whole batch on every delivery), each fails alone: no
    // Message-ID can carry it.
    for (const row of [byId.get("key-with-\\u0000-nul")!, long]) {
      expect(row.items.length).toBeGreaterThan(1);
      for (const item of row.items)
        expect(item).toMatchObject({
          status: "FAILED",
          reason: "the message could not be converted: messageId: must be 1-256 printable ASCII characters",
        });
    }
    const fromStranger = byId.get("from-a-stranger")!;
    expect(fromStranger.items).toContainEqual({
      mailbox: "\ufffdstranger@bank.example",
      status: "SKIPPED",
      reason: "its Symphony email is not an address a Microsoft 365 mailbox can have",
    });
    expect(fromStranger.items.filter((item) => item.status === "IMPORTED").length).toBeGreaterThan(0);
  });

  it("fails a message the agent could not read, and an event it could not parse, with Symphony's diagnostic, never dropping either", async () => {
    const { room, sample, capture, run } = await captureInRoom();
    const { ackId } = await capture.read("");
    // V4Message.diagnostic: the agent could not decrypt the message, which comes without its content.
    const undecrypted = h.symphony.addMessage({ streamId: room.id, diagnostic: "Failed to decrypt message" });
    // V4Event.diagnostic: the event "failed to parse", and names only its message, time and sender.
    h.symphony.publishRawDatahoseEvent({
      id: "event-unparsed",
      messageId: "unparsed-event-message",
      type: "MESSAGESENT",
      timestamp: Date.now(),
      initiator: { user: sample.user },
      diagnostic: "Failed to parse event",
    });
    const read = await capture.read(ackId ?? "");
    expect(read.events).toHaveLength(2);
    expect(await capture.record(read.events, run.id)).toMatchObject({ events: 2, messages: 2, added: 2 });
    await drainRun(run.id, { workerId: "datahose-hostile-test", environment: h.environment });

    const rows = await db.sourceMessage.findMany({
      where: { connectorId: h.connector.id, runId: run.id },
      include: { items: { select: { mailbox: true, status: true, reason: true } } },
    });
    const byId = new Map(rows.map((row) => [row.messageId, row]));
    const members = h.symphony.currentMembers(room.id).filter((member) => member.person.id !== h.symphony.org.bot.id);
    const decrypted = byId.get(undecrypted.messageId)!;
    expect(decrypted.items).toHaveLength(members.length);
    for (const item of decrypted.items)
      expect(item).toMatchObject({
        status: "FAILED",
        reason: "Symphony could not read this message: Failed to decrypt message",
      });
    // Its conversation is unknown: it is failed in its sender's mailbox.
    const unparsed = byId.get("unparsed-event-message")!;
    expect(unparsed.items).toEqual([
      {
        mailbox: expect.stringMatching(new RegExp(`^${sample.user.email}$`, "i")) as unknown,
        status: "FAILED",
        reason: "Symphony could not read this message: Failed to parse event",
      },
    ]);
  });

  it("matches no export record of a file to a captured message that failed, so that the record is imported", async () => {
    const { sample, capture, run } = await captureInRoom();
    const { ackId } = await capture.read("");
    // A message id no Message-ID can carry: the message is recorded FAILED, its file with it.
    const messageId = "file-with-\u0000-nul";
    const sentAt = Date.now();
    publishMessageSent("event-failed-file", {
      ...sample,
      messageId,
      timestamp: sentAt,
      message: '<div data-format="PresentationML" data-version="2.0">the report</div>',
      attachments: [{ id: "internal_1", name: "report.pdf", size: 10 }],
    });
    const read = await capture.read(ackId ?? "");
    expect(await capture.record(read.events, run.id)).toMatchObject({ added: 1 });
    const row = await db.sourceMessage.findFirstOrThrow({
      where: { connectorId: h.connector.id, messageId: "file-with-\\u0000-nul" },
      include: { items: true },
    });
    expect(row.items.map((item) => item.status)).toEqual(row.items.map(() => "FAILED"));
    expect(row.attachmentNames).toEqual(["report.pdf"]);
    // The daily export's record of that file (same conversation, sender, second and name) matches nothing.
    const transfer: ExportChatItem = {
      kind: "chat",
      key: "ce-transfer",
      conversationId: sample.stream.streamId,
      conversationType: "ROOM",
      sentAt: new Date(sentAt),
      sender: { loginName: "sender", email: sample.user.email, internal: true },
      recipients: [],
      content: "",
      attachments: [{ name: "report.pdf", zipPath: "files/report.pdf", size: 10 }],
    };
    expect((await capturedFileMatches(h.connector.id, [transfer])).size).toBe(0);
  });

  it("archives a message sent without its time at its event's time, saying so in the ledger and the item", async () => {
    const { sample, capture, run } = await captureInRoom();
    const { ackId } = await capture.read("");
    const eventTime = Date.UTC(2026, 10, 30, 9, 0, 0);
    const { timestamp: _dropped, ...untimed } = sample;
    h.symphony.publishRawDatahoseEvent({
      id: "event-untimed",
      type: "MESSAGESENT",
      timestamp: eventTime,
      payload: { messageSent: { message: { ...untimed, messageId: "untimed-message" } } },
    });
    const read = await capture.read(ackId ?? "");
    expect(await capture.record(read.events, run.id)).toMatchObject({ added: 1 });
    await drainRun(run.id, { workerId: "datahose-hostile-test", environment: h.environment });
    const note =
      "Symphony sent this message without its time: it is archived at 2026-11-30T09:00:00.000Z, the time of its Datahose event.";
    const row = await db.sourceMessage.findFirstOrThrow({
      where: { connectorId: h.connector.id, messageId: "untimed-message" },
      include: { items: true },
    });
    expect(row.sentAt).toEqual(new Date(eventTime));
    expect(row.note).toBe(note);
    const imported = row.items.filter((item) => item.status === "IMPORTED");
    expect(imported.length).toBeGreaterThan(0);
    for (const item of imported) expect(item.reason).toBe(note);
    const first = imported[0]!;
    // The item as Outlook reads it.
    const response = await graphGet(
      h,
      `/users/${encodeURIComponent(first.mailbox)}/messages/${encodeURIComponent(first.graphMessageId!)}`,
    );
    expect(((await response.json()) as { body: { content: string } }).body.content).toContain(note);
  });

  it("leaves a message it cannot read to the daily export when one runs beside it, so that the export's copy is imported", async () => {
    h.connector = await db.connector.update({
      where: { id: h.connector.id },
      data: { sourceKind: "CONTENT_EXPORT", realtime: true, status: "DRAFT" },
    });
    const sample = h.symphony.history(h.symphony.org.streams.find((s) => s.type === "ROOM" && s.isActive)!.id).at(-1)!;
    const capture = await openCapture(h.connector.id, { environment: h.environment });
    const run = await db.importRun.create({
      data: { connectorId: h.connector.id, trigger: "CONTINUOUS", status: "RUNNING", startedAt: new Date() },
    });
    const { ackId } = await capture.read("");
    const bad = { ...sample, messageId: "left-to-export", timestamp: Date.now() + 0.5 };
    h.symphony.publishRawDatahoseEvent({
      id: "event-left",
      type: "MESSAGESENT",
      payload: { messageSent: { message: bad } },
    });
    const read = await capture.read(ackId ?? "");
    expect(await capture.record(read.events, run.id)).toMatchObject({ events: 1, messages: 0, added: 0 });
    expect(await db.sourceMessage.count({ where: { connectorId: h.connector.id, messageId: "left-to-export" } })).toBe(
      0,
    );
  });
});
