// Real time keeps the kinds of conversation an admin chose: a group chat is a ROOM marked groupChat
// (SBE 20.16), which a Datahose message's stream does not say, so capture asks the room's details.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { db } from "@/lib/db";
import { canRun, startHarness, type Harness } from "@/lib/testing";
import { openCapture } from "./index";

if (!canRun) console.warn("lib/pipeline Datahose kinds test skipped: needs vitest's globalSetup");

describe.skipIf(!canRun)("kinds of conversation in real time", () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ seed: "datahose-kinds", users: 20, messages: 40, largeAttachments: false });
    h.symphony.setDatahose({ readTimeoutMs: 300 });
  });
  afterAll(() => h?.close());

  /** PAUSED: this test reads the feed itself, and no worker of another test file (same database) may capture it. */
  async function capturedWith(streamTypes: string[], streamIds: string[]) {
    const connector = await db.connector.update({
      where: { id: h.connector.id },
      data: { sourceKind: "DATAHOSE", streamTypes, status: "PAUSED" },
    });
    const capture = await openCapture(connector.id, { environment: h.environment });
    const run = await db.importRun.create({
      data: { connectorId: connector.id, trigger: "CONTINUOUS", status: "RUNNING", startedAt: new Date() },
    });
    let { ackId } = await capture.read("");
    const sent = streamIds.map((streamId) => h.symphony.addMessage({ streamId, text: `to ${streamId}` }));
    const read = await capture.read(ackId ?? "");
    ackId = read.ackId;
    await capture.record(read.events, run.id);
    await capture.read(ackId ?? ""); // acknowledged
    const rows = await db.sourceMessage.findMany({
      where: { connectorId: connector.id, messageId: { in: sent.map((message) => message.messageId) } },
      select: { streamId: true, streamType: true },
    });
    return rows.map((row) => [row.streamId, row.streamType]).sort();
  }

  it("archives a group chat under Group chats and a room under Rooms, as the scheduled runs do", async () => {
    const streams = h.symphony.org.streams.filter((stream) => stream.isActive);
    const chat = streams.find((stream) => stream.type === "ROOM" && stream.groupChat)!;
    const room = streams.find((stream) => stream.type === "ROOM" && !stream.groupChat)!;
    expect(chat && room).toBeTruthy();

    const asked = () => h.symphony.stats.byRoute["GET /pod/v3/room/{id}/info"] ?? 0;
    const before = asked();
    expect(await capturedWith(["MIM"], [chat.id, room.id])).toEqual([[chat.id, "MIM"]]);
    expect(asked() - before).toBe(2);
    expect(await capturedWith(["ROOM"], [chat.id, room.id])).toEqual([[room.id, "ROOM"]]);
    expect(await capturedWith(["MIM", "ROOM"], [chat.id, room.id])).toEqual(
      [
        [chat.id, "MIM"],
        [room.id, "ROOM"],
      ].sort(),
    );
  });

  it("keeps a room whose details it may not read when Group chats or Rooms is chosen, as the room its stream says", async () => {
    // Without the User Provisioning role, the details of a conversation the service account is not in
    // are refused (403): a group chat cannot be told from a room, and is kept rather than dropped.
    const chat = h.symphony.org.streams.find(
      (stream) => stream.isActive && stream.type === "ROOM" && stream.groupChat && !stream.botIsMember,
    )!;
    expect(chat).toBeTruthy();
    h.symphony.setBotIsAdmin(false);
    try {
      expect(await capturedWith(["MIM"], [chat.id])).toEqual([[chat.id, "ROOM"]]);
      expect(await capturedWith(["ROOM"], [chat.id])).toEqual([[chat.id, "ROOM"]]);
      expect(await capturedWith(["IM"], [chat.id])).toEqual([]);
    } finally {
      h.symphony.setBotIsAdmin(true);
    }
  });
});
