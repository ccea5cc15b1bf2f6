// The dashboard's and the flyout's figures come from counters (ConnectorCount, ConnectorDayCount) kept by
// database triggers in the same transactions as the ledger's writes. Whatever writes the ledger (a run,
// two workers at once, a retry, a collect that meets every message again, an operator's SQL), the
// counters must equal a count of the ledger.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { db } from "@/lib/db";
import type { Prisma } from "@/lib/generated/prisma/client";
import { drainRun, runImport } from "@/lib/pipeline";
import { canRun, startHarness, type Harness } from "@/lib/testing";
import { deleteConnector } from "./lifecycle";
import { connectorOverview, importedPerDay, listConnectors } from "./queries";

if (!canRun)
  console.warn(
    "lib/connectors counters tests skipped: needs vitest's globalSetup (DATABASE_URL, Azurite, NODE_EXTRA_CA_CERTS for the M365 sandbox)",
  );

type Totals = { messages: number; pending: number; imported: number; skipped: number; failed: number };

/** The connector's figures counted from the ledger itself. */
async function ledgerCounts(connectorId: string) {
  const [row] = await db.$queryRaw<Array<Record<keyof Totals, bigint>>>`
    SELECT (SELECT count(*) FROM "SourceMessage" WHERE "connectorId" = ${connectorId}::uuid) AS messages,
           count(*) FILTER (WHERE status = 'PENDING') AS pending,
           count(*) FILTER (WHERE status = 'IMPORTED') AS imported,
           count(*) FILTER (WHERE status = 'SKIPPED') AS skipped,
           count(*) FILTER (WHERE status = 'FAILED') AS failed
    FROM "ImportItem" WHERE "connectorId" = ${connectorId}::uuid`;
  const days = await db.$queryRaw<Array<{ day: string; items: bigint }>>`
    SELECT to_char("importedAt", 'YYYY-MM-DD') AS day, count(*) AS items FROM "ImportItem"
    WHERE "connectorId" = ${connectorId}::uuid AND status = 'IMPORTED' AND "importedAt" IS NOT NULL GROUP BY 1 ORDER BY 1`;
  const totals = Object.fromEntries(Object.entries(row!).map(([key, value]) => [key, Number(value)])) as Totals;
  return { totals, days: Object.fromEntries(days.map(({ day, items }) => [day, Number(items)])) };
}

/** The same figures as the counters hold them. */
async function counters(connectorId: string) {
  const row = await db.connectorCount.findUnique({ where: { connectorId } });
  const days = await db.connectorDayCount.findMany({ where: { connectorId }, orderBy: { day: "asc" } });
  const totals: Totals = {
    messages: Number(row?.messagesCollected ?? 0),
    pending: Number(row?.itemsPending ?? 0),
    imported: Number(row?.itemsImported ?? 0),
    skipped: Number(row?.itemsSkipped ?? 0),
    failed: Number(row?.itemsFailed ?? 0),
  };
  return {
    totals,
    days: Object.fromEntries(
      days
        .filter((day) => day.itemsImported !== 0n)
        .map((day) => [day.day.toISOString().slice(0, 10), Number(day.itemsImported)]),
    ),
  };
}

describe.skipIf(!canRun)("the ledger's counters", () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ seed: "ledger-counters", users: 8, messages: 60, largeAttachments: false });
  });
  afterAll(() => h?.close());

  /** An operator's SQL on the ledger: `take` IMPORTED items of the connector changed. */
  async function changeImportedItems(take: number, data: Prisma.ImportItemUpdateManyMutationInput) {
    const items = await db.importItem.findMany({
      where: { connectorId: h.connector.id, status: "IMPORTED" },
      take,
      select: { id: true },
    });
    await db.importItem.updateMany({ where: { id: { in: items.map((item) => item.id) } }, data });
  }

  /** Counters equal the ledger, and the dashboard and the flyout show exactly those figures. */
  async function expectCountersMatchTheLedger() {
    const id = h.connector.id;
    const ledger = await ledgerCounts(id);
    expect(await counters(id)).toEqual(ledger);
    const [listed] = await listConnectors({ search: h.connector.name });
    expect(listed?.itemsImported).toBe(ledger.totals.imported);
    expect((await connectorOverview(id))?.totals).toEqual({
      messagesCollected: ledger.totals.messages,
      itemsImported: ledger.totals.imported,
      itemsSkipped: ledger.totals.skipped,
      itemsFailed: ledger.totals.failed,
    });
    const chart = await importedPerDay(id, 14);
    expect(Object.fromEntries(chart.filter((day) => day.count > 0).map((day) => [day.day, day.count]))).toEqual(
      Object.fromEntries(Object.entries(ledger.days).filter(([day]) => day >= chart[0]!.day)),
    );
    return ledger.totals;
  }

  it("equal the ledger after a run, two workers sharing a retry, and a collect that meets every message again", async () => {
    const environment = h.environment;
    const first = await runImport(await h.newRun(), { workerId: "counters-a", environment });
    expect(first.status).not.toBe("FAILED");
    const afterFirst = await expectCountersMatchTheLedger();
    expect(afterFirst.imported).toBeGreaterThan(0);
    expect(afterFirst.skipped).toBeGreaterThan(0);
    expect(afterFirst.messages).toBe(first.messagesCollected);

    // Retries: items put back to PENDING (as after a lost ledger update) and new messages in Symphony,
    // imported by two workers at once.
    await changeImportedItems(5, { status: "PENDING", claimedBy: null, claimedUntil: null });
    expect((await counters(h.connector.id)).totals.pending).toBe(afterFirst.pending + 5);
    const room = h.symphony.org.streams.find((s) => s.type === "ROOM" && s.botIsMember)!;
    for (const n of [1, 2, 3]) h.symphony.addMessage({ streamId: room.id, text: `counted ${n}` });
    const runId = await h.newRun();
    let helper: Promise<void> | undefined;
    const second = await runImport(runId, {
      workerId: "counters-a",
      environment,
      delivery: { batchSize: 2 },
      onCollected: () => {
        helper = drainRun(runId, { workerId: "counters-b", environment, delivery: { batchSize: 2 } });
        return Promise.resolve();
      },
    });
    await helper;
    expect(second.messagesCollected).toBe(3);
    const afterSecond = await expectCountersMatchTheLedger();
    expect(afterSecond.messages).toBe(afterFirst.messages + 3);
    expect(afterSecond.pending).toBe(0);

    // A collect from the start meets every message again: none is recorded or counted twice.
    await db.streamCheckpoint.deleteMany({ where: { connectorId: h.connector.id } });
    const third = await runImport(await h.newRun(), { workerId: "counters-a", environment });
    expect(third.messagesCollected).toBe(0);
    expect(await expectCountersMatchTheLedger()).toEqual(afterSecond);
  });

  it("follow an item moved to another day or deleted, and go with the connector when it is deleted", async () => {
    await changeImportedItems(3, { importedAt: new Date(Date.now() - 3 * 86_400_000) });
    await expectCountersMatchTheLedger();

    // An operator deletes one message's rows: its items and the message leave the counts.
    const message = await db.sourceMessage.findFirstOrThrow({
      where: { connectorId: h.connector.id, items: { some: { status: "IMPORTED" } } },
    });
    const before = (await counters(h.connector.id)).totals;
    await db.sourceMessage.delete({ where: { id: message.id } });
    const after = await expectCountersMatchTheLedger();
    expect(after.messages).toBe(before.messages - 1);
    expect(after.imported).toBeLessThan(before.imported);

    await deleteConnector(h.connector.id, "test");
    expect(await db.connectorCount.count({ where: { connectorId: h.connector.id } })).toBe(0);
    expect(await db.connectorDayCount.count({ where: { connectorId: h.connector.id } })).toBe(0);
  });
});
