// Real time beside the daily export on one connector: the Datahose brings a day's messages first
// (missing some, as it may), with their files, then the export brings the whole day. Each message and
// each file is imported once per mailbox, and the reconciliation lists the messages the stream missed.
import { afterAll, describe, expect, it } from "vitest";
import { realtimeMisses, reconciliationCsv } from "@/lib/connectors";
import { db } from "@/lib/db";
import { canRun, deliveryReport, exactlyOnceProblems, startHarness, type Harness } from "@/lib/testing";
import { drainRun, itemKey, openCapture, runImport } from "./index";

const DAY = 86_400_000;

describe.skipIf(!canRun)("Datahose and Content Export on one connector", () => {
  const harnesses: Harness[] = [];
  afterAll(() => Promise.all(harnesses.map((h) => h.close())));

  async function realtimeHarness(seed: string, botIsContentExportUser: boolean): Promise<Harness> {
    const h = await startHarness({
      seed,
      users: 8,
      messages: 300,
      largeAttachments: false,
      contentExport: { delivery: "FILES_API" },
      botIsContentExportUser,
    });
    harnesses.push(h);
    h.connector = await db.connector.update({ where: { id: h.connector.id }, data: { realtime: true } });
    h.symphony.setDatahose({ readTimeoutMs: 300 });
    return h;
  }

  /**
   * Replays a day of the export's conversations to the Datahose (every `missEvery`-th message missed), captures
   * and imports it, then runs the export. Returns the export's items, what was sent and missed, the day.
   */
  async function captureThenExport(
    h: Harness,
    {
      fileIn = () => true,
      missEvery = 4,
      beforeExport,
    }: {
      fileIn?: (streamId: string) => boolean;
      missEvery?: number;
      /** Runs once the day is captured and imported, before the export's run. */
      beforeExport?: (day: { missed: string[]; readAll: (events: number) => Promise<void> }) => Promise<void>;
    } = {},
  ) {
    const items = h.symphony.contentExport!.expectedItems();
    // Conversations nobody has left: the membership list (capture's recipients) then shows everyone the
    // export names. Replaying the past, capture would miss people who left since; live, it does not.
    const nobodyLeft = (id: string) =>
      h.symphony.currentMembers(id).length === h.symphony.org.streams.find((s) => s.id === id)!.memberIds.length;
    // Their busiest day whose files carry message ids (the key both sources share), with files sent.
    const perDay = new Map<number, number>();
    const withFiles = new Set<number>();
    for (const item of items.filter((i) => nobodyLeft(i.conversationId))) {
      const d = Math.floor(item.sentAt / DAY);
      if (d % 3 === 2) continue;
      perDay.set(d, (perDay.get(d) ?? 0) + 1);
      if (item.attachmentNames.length > 0 && fileIn(item.conversationId)) withFiles.add(d);
    }
    const day = [...perDay].filter(([d]) => withFiles.has(d)).sort((a, b) => b[1] - a[1])[0]![0] * DAY;
    const streamIds = [
      ...new Set(
        items
          .filter((i) => i.sentAt >= day && i.sentAt < day + DAY && nobodyLeft(i.conversationId))
          .map((i) => i.conversationId),
      ),
    ];
    expect(streamIds.length).toBeGreaterThan(0);

    // Capture has run since that day began (its run says when).
    const capture = await openCapture(h.connector.id, { environment: h.environment });
    const run = await db.importRun.create({
      data: { connectorId: h.connector.id, trigger: "CONTINUOUS", status: "RUNNING", startedAt: new Date(day) },
    });
    let { ackId } = await capture.read(""); // the feed begins with its first read
    const { sent, missed } = h.symphony.replayToDatahose({ streamIds, from: day, to: day + DAY, missEvery });
    expect(missed.length > 0).toBe(missEvery > 0);
    /** Reads until the feed has given `events` events, then until it is empty. */
    const readAll = async (events: number, check?: (batch: Awaited<ReturnType<typeof capture.record>>) => void) => {
      for (let seen = 0; ;) {
        const read = await capture.read(ackId ?? "");
        if (read.events.length === 0 && seen >= events) break;
        seen += read.events.length;
        const batch = await capture.record(read.events, run.id);
        check?.(batch);
        ackId = read.ackId;
      }
    };
    await readAll(sent.length);
    await drainRun(run.id, { workerId: "realtime-export-test", environment: h.environment });
    expect(await db.sourceMessage.count({ where: { connectorId: h.connector.id } })).toBe(sent.length);
    await beforeExport?.({ missed, readAll });

    const exported = await runImport(await h.newRun(), {
      workerId: "realtime-export-test",
      environment: h.environment,
    });
    expect(exported.status).toBe("SUCCEEDED");

    // The export's file-transfer records of the messages sent: same conversation, sender and second.
    const sentItems = items.filter((item) => sent.includes(item.key));
    const transfersOfSent = items.filter(
      (item) =>
        item.key.startsWith("ce-") &&
        item.attachmentNames.length > 0 &&
        sentItems.some(
          (message) =>
            message.conversationId === item.conversationId &&
            message.senderEmail === item.senderEmail &&
            Math.floor(message.sentAt / 1000) === Math.floor(item.sentAt / 1000),
        ),
    );
    return { items, sent, missed, day, transfersOfSent, readAll };
  }

  /** The (mailbox, item) pairs of these export items, as deliveryReport names them. */
  const pairsOf = async (h: Harness, keys: string[]) =>
    (await h.expectedPairs())
      .filter((pair) => keys.includes(pair.key))
      .flatMap((pair) => pair.mailboxes.map((mailbox) => `${mailbox}|${itemKey(h.connector.id, pair.key)}`))
      .sort();

  it("imports each message and file once and lists what the stream missed", async () => {
    const h = await realtimeHarness("realtime-export", true);
    // A message the stream missed is suppressed before the export brings it: the note waits for it.
    let suppressedFirst = "";
    const { items, sent, missed, day, transfersOfSent, readAll } = await captureThenExport(h, {
      beforeExport: async ({ missed, readAll }) => {
        suppressedFirst = missed[0]!;
        const streamId = h.symphony.contentExport!.expectedItems().find((item) => item.key === suppressedFirst)!;
        h.symphony.suppressMessage({ streamId: streamId.conversationId, messageId: suppressedFirst });
        await readAll(1);
        expect(
          await db.sourceMessage.count({ where: { connectorId: h.connector.id, messageId: suppressedFirst } }),
        ).toBe(0);
      },
    });
    expect(transfersOfSent.length).toBeGreaterThan(0);

    // Each file of a captured message came with it (downloaded as the content-export service user);
    // the export's record of that file is not imported again: its items say where the file went.
    const transferRows = await db.sourceMessage.findMany({
      where: { connectorId: h.connector.id, messageId: { in: transfersOfSent.map((item) => item.key) } },
      include: { items: true },
    });
    expect(transferRows).toHaveLength(transfersOfSent.length);
    for (const row of transferRows) {
      expect(sent).toContain(row.attachedTo);
      expect(row.items.length).toBeGreaterThan(0);
      // Each recipient's item: skipped, saying why (an external participant's says that instead).
      expect(row.items.map((item) => item.status)).toEqual(row.items.map(() => "SKIPPED"));
      expect(row.items.map((item) => item.reason)).toContain(
        `its file was imported attached to message ${row.attachedTo}, captured in real time`,
      );
      const message = await db.sourceMessage.findFirstOrThrow({
        where: { connectorId: h.connector.id, messageId: row.attachedTo! },
        include: { items: true },
      });
      expect(message.attachmentNames).toEqual(expect.arrayContaining(row.attachmentNames));
      for (const item of message.items.filter((i) => i.status === "IMPORTED")) {
        const inMailbox = h.m365.items(item.mailbox)!.find((candidate) => candidate.id === item.graphMessageId)!;
        expect(inMailbox.attachments.map((a) => a.name)).toEqual(expect.arrayContaining(row.attachmentNames));
      }
    }
    // Every other pair reached its mailbox exactly once; those records' pairs are the only ones absent.
    const { problems } = await exactlyOnceProblems(h);
    expect(problems.filter((problem) => !problem.startsWith("missing "))).toEqual([]);
    expect(
      problems
        .filter((problem) => problem.startsWith("missing "))
        .map((problem) => problem.slice(8))
        .sort(),
    ).toEqual(
      await pairsOf(
        h,
        transfersOfSent.map((item) => item.key),
      ),
    );

    // A compliance officer suppresses a captured message: the archive keeps it, its ledger rows say so.
    const suppressed = sent[0]!;
    const streamId = items.find((item) => item.key === suppressed)!.conversationId;
    h.symphony.suppressMessage({ streamId, messageId: suppressed });
    await readAll(1, (batch) => expect(batch).toMatchObject({ suppressed: expect.any(Number) as unknown }));
    const rows = await db.importItem.findMany({
      where: { connectorId: h.connector.id, sourceMessage: { messageId: suppressed } },
    });
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.some((row) => row.status === "IMPORTED")).toBe(true);
    for (const row of rows) {
      expect(row.status).not.toBe("FAILED");
      expect(row.reason).toMatch(/suppressed in Symphony at .*; the archive keeps the message$/);
    }
    // The message suppressed before the export brought it: noted by that same read, once recorded.
    const early = await db.importItem.findMany({
      where: { connectorId: h.connector.id, sourceMessage: { messageId: suppressedFirst } },
      include: { sourceMessage: true },
    });
    expect(early.length).toBeGreaterThan(0);
    expect(early[0]!.sourceMessage.note).toMatch(/suppressed in Symphony at /);
    for (const row of early) expect(row.reason).toMatch(/suppressed in Symphony at .*; the archive keeps the message$/);
    expect(await db.pendingSuppression.count({ where: { connectorId: h.connector.id } })).toBe(0);

    // What the export had that the stream had not: every item of that day and after, but those sent
    // and the records of files that came with them.
    const attached = new Set(transfersOfSent.map((item) => item.key));
    const expectedMisses = items
      .filter((item) => item.sentAt >= day && !sent.includes(item.key) && !attached.has(item.key))
      .map((item) => item.key)
      .sort();
    const misses = await realtimeMisses(h.connector.id);
    expect(misses.map((miss) => miss.messageId).sort()).toEqual(expectedMisses);
    expect(expectedMisses).toEqual(expect.arrayContaining(missed));
    const csv = await reconciliationCsv(h.connector.id);
    expect(csv.split("\r\n")[0]).toContain("missed_by_realtime");
  });

  it("imports a message without the files Symphony refuses, and the export brings them", async () => {
    // A service account that is not the content-export service user gets the files of its own
    // conversations only (403 for the others).
    const h = await realtimeHarness("realtime-export-refused", false);
    const botIsNotIn = (id: string) => !h.symphony.org.streams.find((stream) => stream.id === id)!.botIsMember;
    const { sent, transfersOfSent } = await captureThenExport(h, { fileIn: botIsNotIn, missEvery: 0 });
    const refused = await db.sourceMessage.findMany({
      where: { connectorId: h.connector.id, messageId: { in: sent }, note: { not: null } },
      include: { items: true },
    });
    expect(refused.length).toBeGreaterThan(0);
    for (const message of refused) {
      expect(message.attachmentNames).toEqual([]);
      for (const item of message.items) {
        expect(item.status).toBe("IMPORTED");
        expect(item.reason).toMatch(
          /^attachment ".*" could not be downloaded from Symphony: .*; imported without its files: they come with the daily Content Export, each as an item of its own$/,
        );
      }
    }
    // Their files' records are imported as items of their own; the captured files' records are not.
    const byKey = new Map(
      (
        await db.sourceMessage.findMany({
          where: { connectorId: h.connector.id, messageId: { in: transfersOfSent.map((item) => item.key) } },
        })
      ).map((row) => [row.messageId, row]),
    );
    const imported = transfersOfSent.filter((item) => byKey.get(item.key)?.attachedTo === null);
    expect(imported.length).toBeGreaterThan(0);
    const report = await deliveryReport(h);
    expect(report.duplicated).toEqual([]);
    expect(report.missing.sort()).toEqual(
      await pairsOf(
        h,
        transfersOfSent.filter((item) => byKey.get(item.key)?.attachedTo !== null).map((item) => item.key),
      ),
    );
  });
});
