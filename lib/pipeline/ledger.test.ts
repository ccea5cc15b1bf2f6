import { afterAll, describe, expect, it } from "vitest";
import { db } from "@/lib/db";
import { ledgerMessage } from "@/lib/testing";
import { blobsStillNeeded, busiestMailboxes, claimItems, recordPage, type CollectedMessage } from "./ledger";

describe("staged blobs retention must keep", () => {
  const name = `retention-${Date.now()}`;
  afterAll(() => db.connector.deleteMany({ where: { name } }));

  it("are those of messages with an item still PENDING", async () => {
    const connector = await db.connector.create({ data: { name, createdBy: "test" } });
    const message = (messageId: string, status: "PENDING" | "IMPORTED" | "SKIPPED" | "FAILED") =>
      ledgerMessage(connector.id, { messageId, blobName: `${name}/${messageId}.eml`, status });
    await message("waiting", "PENDING");
    await message("done", "IMPORTED");
    await message("skipped", "SKIPPED");
    const names = ["waiting", "done", "skipped", "unknown"].map((id) => `${name}/${id}.eml`);
    expect(await blobsStillNeeded(names)).toEqual(new Set([`${name}/waiting.eml`]));
  });
});

describe("recordPage", () => {
  const name = `record-page-${Date.now()}`;
  afterAll(() => db.connector.deleteMany({ where: { name } }));

  it("records a page's messages and their items once, whatever text Symphony sent", async () => {
    const connector = await db.connector.create({ data: { name, createdBy: "test" } });
    const run = await db.importRun.create({ data: { connectorId: connector.id, trigger: "MANUAL" } });
    const message = (messageId: string, senderName: string): CollectedMessage => ({
      messageId,
      streamId: "stream-1",
      streamType: "ROOM",
      sentAt: new Date("2026-11-30T23:59:59.987Z"),
      senderUserId: "7",
      senderEmail: "ann@bank.example",
      senderName,
      participants: ["ann@bank.example", "bob@bank.example"],
      attachmentNames: ['a "quoted" name.pdf', "データ.xlsx"],
      attachedTo: null,
      note: null,
      blobName: `${name}/bundle`,
      blobOffset: 4096,
      sizeBytes: 1234,
      modelBytes: 567,
      recipients: [
        { mailbox: "ann@bank.example", status: "SKIPPED", reason: "the sender" },
        { mailbox: "bob@bank.example", status: "PENDING", reason: null },
      ],
    });
    const page = {
      connectorId: connector.id,
      runId: run.id,
      messages: [message("m-1", "Ann \ud83d half an emoji, \\u0000 kept"), message("m-2", "Ann 😀")],
      keys: ["m-1", "m-2"],
      checkpoint: {
        kind: "stream" as const,
        streamId: "stream-1",
        at: new Date("2026-11-30T23:59:59.987Z"),
        messageId: "m-2",
      },
    };
    expect(await recordPage(page)).toBe(2);
    expect(await recordPage(page)).toBe(0); // a page read again records nothing twice

    const rows = await db.sourceMessage.findMany({
      where: { connectorId: connector.id },
      orderBy: { messageId: "asc" },
      include: { items: { orderBy: { mailbox: "asc" } } },
    });
    expect(rows.map((row) => row.senderName)).toEqual(["Ann \ufffd half an emoji, \\u0000 kept", "Ann 😀"]);
    expect(rows[0]).toMatchObject({
      sentAt: new Date("2026-11-30T23:59:59.987Z"),
      participants: ["ann@bank.example", "bob@bank.example"],
      attachmentNames: ['a "quoted" name.pdf', "データ.xlsx"],
      blobOffset: 4096n,
      sizeBytes: 1234n,
      modelBytes: 567,
      runId: run.id,
    });
    expect(rows[0]!.items.map(({ mailbox, status, reason, runId }) => ({ mailbox, status, reason, runId }))).toEqual([
      { mailbox: "ann@bank.example", status: "SKIPPED", reason: "the sender", runId: run.id },
      { mailbox: "bob@bank.example", status: "PENDING", reason: null, runId: run.id },
    ]);
    expect(Math.abs(rows[0]!.items[0]!.updatedAt.getTime() - Date.now())).toBeLessThan(60_000);
    const after = await db.importRun.findUniqueOrThrow({ where: { id: run.id } });
    expect(after.messagesCollected).toBe(2);
  });
});

describe("claimItems", () => {
  const name = `claim-items-${Date.now()}`;
  afterAll(() => db.connector.deleteMany({ where: { name: { startsWith: name } } }));

  /** A connector whose ledger holds `messages` (streamId-n: the stream is before the dash), all PENDING. */
  async function ledgerOf(label: string, messages: Array<[messageId: string, mailboxes: string[]]>) {
    const connector = await db.connector.create({ data: { name: `${name}-${label}`, createdBy: "test" } });
    const run = await db.importRun.create({ data: { connectorId: connector.id, trigger: "MANUAL" } });
    const at = new Date("2026-11-30T12:00:00Z");
    const collected = messages.map(([messageId, mailboxes]): CollectedMessage => ({
      messageId,
      streamId: messageId.split("-")[0]!,
      streamType: mailboxes.length === 2 ? "IM" : "ROOM",
      sentAt: at,
      senderUserId: "7",
      senderEmail: "zed@bank.example",
      senderName: "Zed",
      participants: mailboxes,
      attachmentNames: [],
      attachedTo: null,
      note: null,
      blobName: `${name}/bundle`,
      blobOffset: 0,
      sizeBytes: 10,
      modelBytes: 10,
      recipients: mailboxes.map((mailbox) => ({ mailbox, status: "PENDING" as const, reason: null })),
    }));
    const last = collected.at(-1)!;
    await recordPage({
      connectorId: connector.id,
      runId: run.id,
      messages: collected,
      keys: [],
      checkpoint: { kind: "stream", streamId: last.streamId, at, messageId: last.messageId },
    });
    const claim = (args: { limit: number; held?: Record<string, number>; busiest?: string[] }) =>
      claimItems({
        connectorId: connector.id,
        runId: run.id,
        workerId: "claim-test",
        limit: args.limit,
        perMailbox: 3,
        held: new Map(Object.entries(args.held ?? {})),
        busiest: args.busiest,
        claimSeconds: 60,
      }).then((items) => items.map((item) => `${item.mailbox.split("@")[0]}:${item.messageId}`).sort());
    return { connectorId: connector.id, claim };
  }

  it("claims oldest first, at most perMailbox per mailbox with those held, reaching past a busy chat", async () => {
    // A two-person chat's 20 messages are stored before a room's one.
    const { claim } = await ledgerOf("chat", [
      ...Array.from({ length: 20 }, (_, i): [string, string[]] => [`chat-${i}`, ["ann@x.example", "bob@x.example"]]),
      ["room-0", ["carol@x.example", "dave@x.example", "erin@x.example"]],
    ]);
    expect(await claim({ limit: 8 })).toEqual(
      ["ann:chat-0", "ann:chat-1", "ann:chat-2", "bob:chat-0", "bob:chat-1", "bob:chat-2"]
        .concat(["carol:room-0", "dave:room-0"])
        .sort(),
    );
    // Ann and Bob are full, Carol and Dave have nothing left: only Erin's item is free to take.
    const held = { "ann@x.example": 3, "bob@x.example": 3, "carol@x.example": 1, "dave@x.example": 1 };
    expect(await claim({ limit: 8, held })).toEqual(["erin:room-0"]);
    // Two of Ann's items ended: two more of hers (and none of Bob's, still full).
    expect(await claim({ limit: 8, held: { "ann@x.example": 1, "bob@x.example": 3 } })).toEqual([
      "ann:chat-3",
      "ann:chat-4",
    ]);
  });

  it("claims the busiest mailboxes' oldest items first, wherever they were stored", async () => {
    // A desk head sits in a room whose 30 messages are stored after 40 of a chat she is not in.
    const { connectorId, claim } = await ledgerOf("desk", [
      ...Array.from({ length: 40 }, (_, i): [string, string[]] => [`chat-${i}`, ["ann@x.example", "bob@x.example"]]),
      ...Array.from({ length: 30 }, (_, i): [string, string[]] => [`room-${i}`, ["desk@x.example", "carol@x.example"]]),
    ]);
    expect(await busiestMailboxes(connectorId, { minItems: 30, limit: 3 })).toEqual([
      "ann@x.example",
      "bob@x.example",
      "carol@x.example",
    ]);
    expect(await busiestMailboxes(connectorId, { minItems: 30, limit: 2 })).toHaveLength(2);
    expect(await busiestMailboxes(connectorId, { minItems: 41, limit: 3 })).toEqual([]);

    // Her oldest three, besides the two oldest items of the others.
    const busiest = ["desk@x.example"];
    expect(await claim({ limit: 2, busiest })).toEqual(
      ["ann:chat-0", "bob:chat-0", "desk:room-0", "desk:room-1", "desk:room-2"].sort(),
    );
    // Her three are still held: the others' claim goes on in stored order.
    expect(
      await claim({ limit: 2, busiest, held: { "desk@x.example": 3, "ann@x.example": 1, "bob@x.example": 1 } }),
    ).toEqual(["ann:chat-1", "bob:chat-1"]);
    // One of hers ended: her next one, even with no room for the others.
    const held = { "ann@x.example": 2, "bob@x.example": 2, "desk@x.example": 2 };
    expect(await claim({ limit: 0, busiest, held })).toEqual(["desk:room-3"]);
    expect(await claim({ limit: 1, busiest, held: { ...held, "desk@x.example": 3 } })).toEqual(["ann:chat-2"]);
  });
});
