import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, describe, expect, it } from "vitest";
import { db } from "@/lib/db";
import { ledgerMessage } from "@/lib/testing";
import {
  blobsStillNeeded,
  claimCountingHot,
  claimItems,
  claimPlan,
  extendClaims,
  oldestPending,
  pendingMailboxes,
  recordOutcomes,
  recordPage,
  recordSuppression,
  type AttemptOutcome,
  type CollectedMessage,
  type ItemOutcome,
} from "./ledger";

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

  /** A collected message of `streamId` with an item PENDING for each of `mailboxes` (a chat of two: IM). */
  const pendingMessage = (
    messageId: string,
    mailboxes: string[],
    { at, streamId }: { at: Date; streamId: string },
  ): CollectedMessage => ({
    messageId,
    streamId,
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
  });

  /** A new connector and run (named `name-label`) with `messages` recorded as one page. */
  async function connectorWithMessages(label: string, messages: CollectedMessage[]) {
    const connector = await db.connector.create({ data: { name: `${name}-${label}`, createdBy: "test" } });
    const run = await db.importRun.create({ data: { connectorId: connector.id, trigger: "MANUAL" } });
    const last = messages.at(-1)!;
    await recordPage({
      connectorId: connector.id,
      runId: run.id,
      messages,
      keys: [],
      checkpoint: { kind: "stream", streamId: last.streamId, at: last.sentAt, messageId: last.messageId },
    });
    return { connector, run };
  }

  it("claims oldest first (newest first on request), at most perMailbox per mailbox with those held, reaching past a busy chat", async () => {
    const at = new Date("2026-11-30T12:00:00Z");
    const message = (messageId: string, mailboxes: string[]) =>
      pendingMessage(messageId, mailboxes, { at, streamId: mailboxes.length === 2 ? "chat" : "room" });
    // A two-person chat's 20 messages are stored before a room's one.
    const chat = Array.from({ length: 20 }, (_, i) => message(`chat-${i}`, ["ann@x.example", "bob@x.example"]));
    const room = message("room-0", ["carol@x.example", "dave@x.example", "erin@x.example"]);
    const { connector, run } = await connectorWithMessages("oldest-first", [...chat, room]);

    const claim = (held: Record<string, number>, newestFirst = false) =>
      claimItems({
        newestFirst,
        connectorId: connector.id,
        runId: run.id,
        workerId: "claim-test",
        limit: 8,
        perMailbox: 3,
        held: new Map(Object.entries(held)),
        claimSeconds: 60,
      }).then((items) => items.map((item) => `${item.mailbox.split("@")[0]}:${item.messageId}`).sort());

    expect(await claim({})).toEqual(
      ["ann:chat-0", "ann:chat-1", "ann:chat-2", "bob:chat-0", "bob:chat-1", "bob:chat-2"]
        .concat(["carol:room-0", "dave:room-0"])
        .sort(),
    );
    // Ann and Bob are full, Carol and Dave have nothing left: only Erin's item is free to take.
    expect(await claim({ "ann@x.example": 3, "bob@x.example": 3, "carol@x.example": 1, "dave@x.example": 1 })).toEqual([
      "erin:room-0",
    ]);
    // Two of Ann's items ended: two more of hers (and none of Bob's, still full).
    expect(await claim({ "ann@x.example": 1, "bob@x.example": 3 })).toEqual(["ann:chat-3", "ann:chat-4"]);
    // While collect goes on: the items recorded last, still at most perMailbox of each mailbox.
    expect(await claim({}, true)).toEqual(
      ["ann:chat-17", "ann:chat-18", "ann:chat-19", "bob:chat-17", "bob:chat-18", "bob:chat-19"].sort(),
    );
  });

  it("claims the busiest mailboxes' oldest items first, wherever they were stored", async () => {
    const at = new Date("2026-11-30T12:00:00Z");
    const message = (messageId: string, mailboxes: string[]) =>
      pendingMessage(messageId, mailboxes, { at, streamId: messageId.split("-")[0]! });
    // A desk head sits in a room whose 30 messages are stored after 40 of a chat she is not in.
    const chat = Array.from({ length: 40 }, (_, i) => message(`chat-${i}`, ["ann@x.example", "bob@x.example"]));
    const room = Array.from({ length: 30 }, (_, i) => message(`room-${i}`, ["desk@x.example", "carol@x.example"]));
    const { connector, run } = await connectorWithMessages("busiest", [...chat, ...room]);
    try {
      const mailboxes = (minItems: number, limit: number, allUpTo = 4) =>
        pendingMailboxes(connector.id, { minItems, limit, allUpTo });
      expect(await mailboxes(30, 3)).toEqual({
        busiest: ["ann@x.example", "bob@x.example", "carol@x.example"],
        all: ["ann@x.example", "bob@x.example", "carol@x.example", "desk@x.example"],
      });
      expect((await mailboxes(30, 2)).busiest).toHaveLength(2);
      expect(await mailboxes(41, 3, 3)).toEqual({ busiest: [], all: null });

      const claim = (busiest: string[], held: Record<string, number> = {}, limit = 4) =>
        claimItems({
          connectorId: connector.id,
          runId: run.id,
          workerId: "claim-test",
          limit,
          perMailbox: 3,
          held: new Map(Object.entries(held)),
          busiest,
          claimSeconds: 60,
        }).then((items) => items.map((item) => `${item.mailbox.split("@")[0]}:${item.messageId}`).sort());

      expect(await claim(["desk@x.example"])).toEqual(["ann:chat-0", "desk:room-0", "desk:room-1", "desk:room-2"]);
      // The desk head's three are still held: the claim goes on in stored order.
      expect(await claim(["desk@x.example"], { "desk@x.example": 3, "ann@x.example": 1 })).toEqual(
        ["ann:chat-1", "ann:chat-2", "bob:chat-0", "bob:chat-1"].sort(),
      );
      // One of hers ended: her next one comes before Carol's, stored earlier.
      const full = { "ann@x.example": 3, "bob@x.example": 3 };
      expect(await claim(["desk@x.example"], { ...full, "desk@x.example": 2 }, 2)).toEqual([
        "carol:room-0",
        "desk:room-3",
      ]);
      // While collect goes on, the rest newest first; the desk head's oldest still come first.
      expect(
        await claimItems({
          connectorId: connector.id,
          runId: run.id,
          workerId: "claim-test",
          limit: 2,
          perMailbox: 3,
          held: new Map(Object.entries({ ...full, "desk@x.example": 2 })),
          busiest: ["desk@x.example"],
          newestFirst: true,
          claimSeconds: 60,
        }).then((items) => items.map((item) => `${item.mailbox.split("@")[0]}:${item.messageId}`).sort()),
      ).toEqual(["carol:room-29", "desk:room-4"]);
    } finally {
      await db.connector.delete({ where: { id: connector.id } });
    }
  });

  it("once few mailboxes have items left, claims each one's oldest through its own index, not past the full mailboxes' items", async () => {
    const at = new Date("2026-11-30T12:00:00Z");
    const message = (messageId: string, mailboxes: string[]) =>
      pendingMessage(messageId, mailboxes, { at, streamId: messageId.split("-")[0]! });
    // Late in a run: a long chat of two mailboxes at their limit, stored before a room's few messages.
    const chat = Array.from({ length: 300 }, (_, i) => message(`chat-${i}`, ["ann@x.example", "bob@x.example"]));
    const room = Array.from({ length: 3 }, (_, i) =>
      message(`room-${i}`, ["carol@x.example", "dave@x.example", "erin@x.example"]),
    );
    const { connector, run } = await connectorWithMessages("probe", [...chat, ...room]);
    try {
      const { all } = await pendingMailboxes(connector.id, { minItems: 1000, limit: 8, allUpTo: 64 });
      const args = {
        connectorId: connector.id,
        runId: run.id,
        workerId: "claim-test",
        limit: 8,
        perMailbox: 3,
        held: new Map([
          ["ann@x.example", 3],
          ["bob@x.example", 3],
        ]),
        claimSeconds: 60,
        pendingMailboxes: all!,
      };
      const plan = planNodes(await claimPlan(args));
      // The candidates' scans, in order (the pick of the chosen rows may read either index as a bitmap):
      // the busiest mailboxes' (none here) and the others', both probes of each mailbox, not a walk.
      const scans = plan
        .filter((node) => node["Node Type"] === "Index Scan" && node["Index Name"]?.startsWith("ImportItem_pending"))
        .map((node) => node["Index Name"]);
      expect(scans).toEqual(["ImportItem_pending_mailbox_idx", "ImportItem_pending_mailbox_idx"]);
      // The same items a walk of the backlog would take: oldest first, at most perMailbox of each.
      const claimed = await claimItems(args);
      expect(claimed.map((item) => `${item.mailbox.split("@")[0]}:${item.messageId}`).sort()).toEqual(
        ["carol:room-0", "carol:room-1", "carol:room-2", "dave:room-0", "dave:room-1", "dave:room-2"]
          .concat(["erin:room-0", "erin:room-1"])
          .sort(),
      );
      // A probed mailbox's items held count toward its cap: Erin, holding two, gets one more.
      const more = await claimItems({ ...args, held: new Map([...args.held, ["erin@x.example", 2]]) });
      expect(more.map((item) => `${item.mailbox.split("@")[0]}:${item.messageId}`)).toEqual(["erin:room-2"]);
    } finally {
      await db.connector.delete({ where: { id: connector.id } });
    }
  });

  it("renews a worker's claims without waiting for the rows whose outcomes it is writing (waiting for them deadlocked)", async () => {
    const { connector, run } = await connectorWithItems("renew", 4);
    const claimed = await claimItems({
      connectorId: connector.id,
      runId: run.id,
      workerId: "w",
      limit: 4,
      perMailbox: 4,
      claimSeconds: 60,
    });
    expect(claimed).toHaveLength(4);
    const ids = claimed.map((item) => item.id);
    const claimedUntil = async () =>
      new Map(
        (await db.importItem.findMany({ where: { id: { in: ids } } })).map((item) => [
          item.id,
          item.claimedUntil?.getTime() ?? 0,
        ]),
      );
    const before = await claimedUntil();
    // The first item's outcome is being written: its row stays locked until that statement commits.
    await db.$transaction(async (tx) => {
      await tx.$executeRaw`UPDATE "ImportItem" SET reason = 'being written' WHERE id = ${ids[0]}`;
      const renewal = extendClaims("w", ids, 600);
      const first = await Promise.race([
        renewal.then(() => "renewed"),
        sleep(3000).then(() => "still waiting for the locked row"),
      ]);
      expect(first).toBe("renewed");
    });
    const after = await claimedUntil();
    expect(after.get(ids[0]!)).toBe(before.get(ids[0]!));
    for (const id of ids.slice(1)) expect(after.get(id)! - before.get(id)!).toBeGreaterThan(500_000);
  });

  it("writes an attempt's outcome only while its claim holds, not over the attempt of a claim made since", async () => {
    const { connector, run } = await connectorWithItems("lapsed", 3);
    const claim = (workerId: string, limit: number) =>
      claimItems({ connectorId: connector.id, runId: run.id, workerId, limit, perMailbox: 4, claimSeconds: 60 });
    const [first, second, third] = await claim("lapsed-worker", 3);
    // Its claims lapse while PostgreSQL is away; another worker takes the first item, another loop of
    // the same worker the second (a new attempt under the same name).
    const lapse = (ids: bigint[]) =>
      db.importItem.updateMany({ where: { id: { in: ids } }, data: { claimedUntil: new Date(0) } });
    await lapse([first!.id, second!.id]);
    expect((await claim("next-worker", 1)).map((item) => item.id)).toEqual([first!.id]);
    expect((await claim("lapsed-worker", 1)).map((item) => item.id)).toEqual([second!.id]);
    const late = (item: typeof first, outcome: AttemptOutcome): ItemOutcome => ({
      ...outcome,
      id: item!.id,
      attempt: item!.attempts,
    });
    await recordOutcomes("lapsed-worker", [
      late(first, { status: "PENDING", reason: "timed out", retryDelaySeconds: 0, attemptFailed: true }),
      late(second, { status: "IMPORTED", graphMessageId: "graph-2-late" }),
      late(third, { status: "IMPORTED", graphMessageId: "graph-3" }),
    ]);
    const rows = await Promise.all(
      [first!.id, second!.id, third!.id].map((id) => db.importItem.findUniqueOrThrow({ where: { id } })),
    );
    // The first and second stay with the claims made since: not freed, not ended, no failure counted;
    // the third, claimed by no one since, is imported.
    expect(rows.map((row) => [row.status, row.claimedBy, row.attempts, row.failures])).toEqual([
      ["PENDING", "next-worker", 2, 0],
      ["PENDING", "lapsed-worker", 2, 0],
      ["IMPORTED", "lapsed-worker", 1, 0],
    ]);
    await recordOutcomes("next-worker", [
      { ...late(first, { status: "IMPORTED", graphMessageId: "graph-1" }), attempt: 2 },
    ]);
    expect((await db.importItem.findUnique({ where: { id: first!.id } }))?.graphMessageId).toBe("graph-1");
  });

  it("notes a suppressed message's items without waiting for the rows whose outcomes are being written", async () => {
    const { connector } = await connectorWithItems("suppress", 3);
    const items = await db.importItem.findMany({ where: { connectorId: connector.id }, orderBy: { id: "asc" } });
    expect(items.length).toBeGreaterThanOrEqual(3);
    const reasons = async () =>
      (await db.importItem.findMany({ where: { connectorId: connector.id }, orderBy: { id: "asc" } })).map(
        (item) => item.reason,
      );
    const at = new Date("2026-11-30T09:15:00Z");
    const note = "suppressed in Symphony at 2026-11-30T09:15:00.000Z; the archive keeps the message";
    const everyItem = items.map(() => note);
    let suppression: Promise<number> | undefined;
    // The first item's outcome is being written (it started before the suppression): its row stays
    // locked until that statement commits, and what it writes has no note.
    await db.$transaction(async (tx) => {
      await tx.$executeRaw`UPDATE "ImportItem" SET status = 'IMPORTED', reason = NULL WHERE id = ${items[0]!.id}`;
      suppression = recordSuppression(connector.id, "m", at);
      await sleep(500);
      // The others are noted and committed meanwhile: nothing waits on the held row.
      expect((await reasons()).slice(1)).toEqual(everyItem.slice(1));
    });
    expect(await suppression).toBe(items.length);
    expect(await reasons()).toEqual(everyItem);
    const message = await db.sourceMessage.findFirstOrThrow({ where: { connectorId: connector.id } });
    expect(message.note).toBe(note);
    // The same event delivered again notes nothing twice.
    expect(await recordSuppression(connector.id, "m", at)).toBe(0);
    expect(await reasons()).toEqual(everyItem);
  });

  /**
   * A new connector and run whose one message has `items` PENDING items, one per mailbox;
   * `beforeItems` runs once the message is recorded, before its items.
   */
  async function connectorWithItems(label: string, items: number, beforeItems?: () => Promise<unknown>) {
    const connector = await db.connector.create({ data: { name: `${name}-${label}`, createdBy: "test" } });
    const run = await db.importRun.create({ data: { connectorId: connector.id, trigger: "MANUAL" } });
    const message = await ledgerMessage(connector.id, {
      messageId: "m",
      blobName: `${name}/bundle`,
      status: "PENDING",
    });
    await beforeItems?.();
    await db.$executeRaw`
      INSERT INTO "ImportItem" ("connectorId", "sourceMessageId", "runId", "mailbox", "status", "createdAt", "updatedAt")
      SELECT ${connector.id}::uuid, ${message.id}, ${run.id}::uuid, 'u' || n || '@bank.example', 'PENDING', now(), now()
      FROM generate_series(1, ${items}::int) AS n`;
    return { connector, run };
  }

  it("writes a claim without touching the ledger's indexes (heap-only updates), so claims cost no index growth", async () => {
    const { connector, run } = await connectorWithItems("hot", 2000);
    const claim = { connectorId: connector.id, runId: run.id, workerId: "w", perMailbox: 4, claimSeconds: 60 };
    // The claim's rows stay on their page, in the room the table's fillfactor leaves there (the first
    // may sit at the end of a page other tests filled). With "updatedAt" indexed, none would.
    const { claimed, hot } = await claimCountingHot({ ...claim, limit: 8 });
    expect(claimed).toBe(8);
    expect(hot).toBeGreaterThanOrEqual(6);
  });

  it("walks a new connector's backlog in order through the pending index, never sorting it, whatever the statistics say", async () => {
    // Statistics taken before the connector's 20,000 items: as at the start of a first backfill.
    const { connector, run } = await connectorWithItems("plan", 20000, () => db.$executeRaw`ANALYZE "ImportItem"`);
    for (const newestFirst of [false, true]) {
      const plan = await claimPlan({
        connectorId: connector.id,
        runId: run.id,
        workerId: "w",
        limit: 64,
        perMailbox: 4,
        claimSeconds: 60,
        newestFirst,
        held: new Map([["u2@bank.example", 4]]),
        busiest: ["u1@bank.example"],
      });
      const scans = planNodes(plan)
        .filter((node) => node["Relation Name"] === "ImportItem" && node["Node Type"].endsWith("Scan"))
        .map((node) => `${node["Node Type"]} ${node["Index Name"] ?? ""}`.trim());
      // The backlog in id order; the busiest mailboxes' items through either pending index (with such
      // statistics the planner sees no difference between them), and the picked rows by key.
      expect(scans, scans.join(", ")).toContain("Index Scan ImportItem_pending_idx");
      expect(scans.filter((scan) => !scan.startsWith("Index Scan"))).toEqual([]);
    }
  });

  it("walks the backlog in an order only the pending index has, so never past the items already imported", async () => {
    const { connector, run } = await connectorWithItems("order", 100);
    const args = {
      connectorId: connector.id,
      runId: run.id,
      workerId: "w",
      limit: 32,
      perMailbox: 4,
      claimSeconds: 60,
      held: new Map([["u2@bank.example", 4]]),
    };
    // Scans of ImportItem other than the picks of the chosen rows by key.
    const isWalk = (node: PlanNode) =>
      node["Relation Name"] === "ImportItem" &&
      node["Node Type"].endsWith("Scan") &&
      !node["Index Cond"]?.startsWith("(id =");
    const walks = (plan: unknown) =>
      planNodes(plan)
        .filter(isWalk)
        .map((node) => `${node["Node Type"]} ${node["Index Name"] ?? ""}`.trim());
    for (const newestFirst of [false, true]) {
      const plan = walks(await claimPlan({ ...args, newestFirst }));
      expect(plan).toContain("Index Scan ImportItem_pending_idx");
      expect(plan.filter((walk) => !/^Index Scan ImportItem_pending_(mailbox_)?idx$/.test(walk))).toEqual([]);
      // Without it, no other index gives that order: in id order the primary key did, and in a bench run
      // the planner walked it (past every imported item) while the statistics said most items were pending.
      const without = await db
        .$transaction(async (tx) => {
          await tx.$executeRaw`DROP INDEX "ImportItem_pending_idx"`;
          throw new RolledBack(await claimPlan({ ...args, newestFirst }, tx));
        })
        .catch((error: unknown) => {
          if (error instanceof RolledBack) return error.plan;
          throw error;
        });
      const backlogWalks = parentedNodes(without).filter(
        ({ node }) => isWalk(node) && node["Index Name"] !== "ImportItem_pending_mailbox_idx",
      );
      expect(backlogWalks).toHaveLength(1);
      expect(backlogWalks[0]!.parent?.["Node Type"]).toMatch(/Sort$/);
    }
  });

  it("starts an oldest-first walk at the oldest PENDING item, past the index entries of items already done", async () => {
    const { connector, run } = await connectorWithItems("oldest", 6);
    const items = await db.importItem.findMany({ where: { connectorId: connector.id }, orderBy: { id: "asc" } });
    const oldestOf = async () => (await oldestPending(connector.id)).oldest;
    expect((await oldestOf())?.id).toBe(items[0]!.id);
    await db.importItem.updateMany({
      where: { id: { in: [items[0]!.id, items[1]!.id] } },
      data: { status: "IMPORTED" },
    });
    const oldest = await oldestOf();
    expect(oldest?.id).toBe(items[2]!.id);

    const args = { connectorId: connector.id, runId: run.id, limit: 2, perMailbox: 4, claimSeconds: 60 };
    const claim = (from: typeof oldest, workerId: string) =>
      claimItems({ ...args, workerId, from }).then((claimed) =>
        claimed.map((item) => item.id).sort((a, b) => Number(a - b)),
      );
    // The walk descends the pending index straight to its starting point.
    const walk = planNodes(await claimPlan({ ...args, workerId: "a", from: oldest })).find(
      (node) => node["Index Name"] === "ImportItem_pending_idx",
    );
    expect(walk?.["Index Cond"]).toMatch(/ROW\("createdAt", id\) >= ROW/);
    expect(await claim(oldest, "a")).toEqual([items[2]!.id, items[3]!.id]);
    // Claimed items are still PENDING: the oldest stays where it was.
    const later = await oldestOf();
    expect(later?.id).toBe(items[2]!.id);
    // The walk starts where it is told, not before: the items before it wait for a walk from further back.
    const last = items.at(-1)!;
    expect(await claim({ ...later!, id: last.id }, "b")).toEqual([last.id]);
    expect(await claim(later, "b")).toEqual([items[4]!.id, items[5]!.id]);
    await db.importItem.updateMany({ where: { connectorId: connector.id }, data: { status: "IMPORTED" } });
    expect(await oldestOf()).toBeNull();
  });

  it("probes a mailbox from its oldest PENDING item, past the index entries of its items already done", async () => {
    const at = new Date("2026-11-30T12:00:00Z");
    const { connector, run } = await connectorWithMessages(
      "mailbox-from",
      Array.from({ length: 110 }, (_, i) =>
        pendingMessage(`room-${i}`, ["desk@bank.example"], { at, streamId: "room" }),
      ),
    );
    const imported = await db.importItem.findMany({
      where: { connectorId: connector.id },
      orderBy: { id: "asc" },
      take: 100,
    });
    await db.importItem.updateMany({
      where: { id: { in: imported.map((item) => item.id) } },
      data: { status: "IMPORTED" },
    });
    const desk = await db.importItem.findMany({
      where: { connectorId: connector.id, mailbox: "desk@bank.example", status: "PENDING" },
      orderBy: { id: "asc" },
    });
    const { byMailbox } = await oldestPending(connector.id, ["desk@bank.example", "nobody@bank.example"]);
    expect(byMailbox).toEqual(new Map([["desk@bank.example", desk[0]!.id]]));

    const args = {
      connectorId: connector.id,
      runId: run.id,
      workerId: "w",
      limit: 3,
      perMailbox: 3,
      claimSeconds: 60,
      busiest: ["desk@bank.example"],
      mailboxFrom: byMailbox,
    };
    const probe = planNodes(await claimPlan(args)).find(
      (node) => node["Index Name"] === "ImportItem_pending_mailbox_idx",
    );
    expect(probe?.["Index Cond"]).toMatch(/id >= m\.start/);
    // Started past its oldest, the probe finds what is after it; from its oldest, its oldest three.
    const ids = (claimed: Array<{ id: bigint }>) => claimed.map((item) => item.id).sort((a, b) => Number(a - b));
    const late = new Map([["desk@bank.example", desk[8]!.id]]);
    expect(ids(await claimItems({ ...args, limit: 2, mailboxFrom: late }))).toEqual([desk[8]!.id, desk[9]!.id]);
    expect(ids(await claimItems(args))).toEqual(desk.slice(0, 3).map((item) => item.id));
  });

  class RolledBack extends Error {
    constructor(readonly plan: unknown) {
      super("rolled back");
    }
  }
});

type PlanNode = {
  "Node Type": string;
  "Relation Name"?: string;
  "Index Name"?: string;
  "Index Cond"?: string;
  Plans?: PlanNode[];
};

/** Every node of an EXPLAIN (FORMAT JSON) plan with the node above it. */
function parentedNodes(plan: unknown): Array<{ node: PlanNode; parent?: PlanNode }> {
  const walk = (node: PlanNode, parent?: PlanNode): Array<{ node: PlanNode; parent?: PlanNode }> => [
    { node, parent },
    ...(node.Plans ?? []).flatMap((child) => walk(child, node)),
  ];
  return (plan as Array<{ Plan: PlanNode }>).flatMap(({ Plan }) => walk(Plan));
}

/** Every node of an EXPLAIN (FORMAT JSON) plan. */
function planNodes(plan: unknown): PlanNode[] {
  return parentedNodes(plan).map(({ node }) => node);
}
