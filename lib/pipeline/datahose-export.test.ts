// Real time beside the daily export on one connector: the Datahose brings a day's messages first
// (missing some, as it may), then the export brings the whole day. Each message is imported once per
// mailbox, and the reconciliation lists the ones the stream missed.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { realtimeMisses, reconciliationCsv } from "@/lib/connectors";
import { db } from "@/lib/db";
import { canRun, exactlyOnceProblems, startHarness, type Harness } from "@/lib/testing";
import { drainRun, openCapture, runImport } from "./index";

const DAY = 86_400_000;

describe.skipIf(!canRun)("Datahose and Content Export on one connector", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      seed: "realtime-export",
      users: 8,
      messages: 300,
      largeAttachments: false,
      contentExport: { delivery: "FILES_API" },
    });
    h.connector = await db.connector.update({ where: { id: h.connector.id }, data: { realtime: true } });
    h.symphony.setDatahose({ readTimeoutMs: 300 });
  });
  afterAll(() => h?.close());

  it("imports each message once and lists what the stream missed", async () => {
    const items = h.symphony.contentExport!.expectedItems();
    // Conversations nobody has left: the membership list (capture's recipients) then shows everyone the
    // export names. Replaying the past, capture would miss people who left since; live, it does not.
    const nobodyLeft = (id: string) =>
      h.symphony.currentMembers(id).length === h.symphony.org.streams.find((s) => s.id === id)!.memberIds.length;
    // Their busiest day whose files carry message ids (the key both sources share).
    const perDay = new Map<number, number>();
    for (const item of items.filter((i) => nobodyLeft(i.conversationId))) {
      const d = Math.floor(item.sentAt / DAY);
      if (d % 3 !== 2) perDay.set(d, (perDay.get(d) ?? 0) + 1);
    }
    const day = [...perDay].sort((a, b) => b[1] - a[1])[0]![0] * DAY;
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
    const { sent, missed } = h.symphony.replayToDatahose({ streamIds, from: day, to: day + DAY, missEvery: 4 });
    expect(missed.length).toBeGreaterThan(0);
    for (;;) {
      const read = await capture.read(ackId ?? "");
      if (read.events.length === 0) break;
      await capture.record(read.events, run.id);
      ackId = read.ackId;
    }
    await drainRun(run.id, { workerId: "realtime-export-test", environment: h.environment });
    expect(await db.sourceMessage.count({ where: { connectorId: h.connector.id } })).toBe(sent.length);

    // A compliance officer suppresses a captured message: the archive keeps it, its ledger rows say so.
    const suppressed = sent[0]!;
    const streamId = items.find((item) => item.key === suppressed)!.conversationId;
    h.symphony.suppressMessage({ streamId, messageId: suppressed });
    for (;;) {
      const read = await capture.read(ackId ?? "");
      if (read.events.length === 0) break;
      expect(await capture.record(read.events, run.id)).toMatchObject({ suppressed: expect.any(Number) as unknown });
      ackId = read.ackId;
    }
    const rows = await db.importItem.findMany({
      where: { connectorId: h.connector.id, sourceMessage: { messageId: suppressed } },
    });
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.some((row) => row.status === "IMPORTED")).toBe(true);
    for (const row of rows) {
      expect(row.status).not.toBe("FAILED");
      expect(row.reason).toMatch(/suppressed in Symphony at .*; the archive keeps the message$/);
    }

    const exported = await runImport(await h.newRun(), {
      workerId: "realtime-export-test",
      environment: h.environment,
    });
    expect(exported.status).toBe("SUCCEEDED");
    expect((await exactlyOnceProblems(h)).problems).toEqual([]);

    // What the export had that the stream had not: every item of that day and after, but those sent.
    const expectedMisses = items
      .filter((item) => item.sentAt >= day && !sent.includes(item.key))
      .map((item) => item.key)
      .sort();
    const misses = await realtimeMisses(h.connector.id);
    expect(misses.map((miss) => miss.messageId).sort()).toEqual(expectedMisses);
    expect(expectedMisses).toEqual(expect.arrayContaining(missed));
    const csv = await reconciliationCsv(h.connector.id);
    expect(csv.split("\r\n")[0]).toContain("missed_by_realtime");
  });
});
