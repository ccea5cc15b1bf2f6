import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { db } from "@/lib/db";
import { runImport } from "./run";
import { canRun, startHarness, type Harness } from "@/lib/testing";

// Graph answers a mailbox over its request budget with 429 and a Retry-After until its window ends.
// Its items wait for that; the other mailboxes' items must not wait with them.
describe.skipIf(!canRun)("a run with one mailbox over its Graph request budget", () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ seed: "busy-mailbox", users: 40, messages: 300 });
  });
  afterAll(() => h?.close());

  it("imports every other mailbox's items while that mailbox waits for its window", async () => {
    const WINDOW_MS = 45_000;
    let busiest = "";
    const summary = await runImport(await h.newRun(), {
      workerId: "busy-mailbox-worker",
      environment: h.environment,
      // The mailbox may hold every item the worker has in flight: its waiting items must not fill the worker.
      delivery: { batchSize: 8, perMailbox: 8 },
      onCollected: async () => {
        const perMailbox = await db.importItem.groupBy({
          by: ["mailbox"],
          where: { connectorId: h.connector.id, status: "PENDING" },
          _count: { _all: true },
        });
        const [top, next] = perMailbox
          .map((row) => ({ mailbox: row.mailbox, items: row._count._all }))
          .sort((a, b) => b.items - a.items);
        if (!top || !next) throw new Error("the seeded organisation reaches too few mailboxes");
        // Each mailbox also takes a few lookups (user, folder, size limit): a budget of the second
        // busiest's items plus 8 holds every mailbox but the busiest, which is 10 or more over it.
        const budget = next.items + 8;
        if (top.items < budget + 10)
          throw new Error(`the busiest mailbox has ${top.items} items, too few over ${budget}`);
        busiest = top.mailbox;
        h.m365.setLimits({ requestsPerWindow: budget, requestWindowMs: WINDOW_MS });
      },
    });
    expect(summary.status).toBe("SUCCEEDED");

    const items = await db.importItem.findMany({
      where: { connectorId: h.connector.id, status: "IMPORTED" },
      select: { mailbox: true, importedAt: true },
    });
    const times = (of: (mailbox: string) => boolean) =>
      items
        .filter((item) => of(item.mailbox))
        .map((item) => item.importedAt!.getTime())
        .sort((a, b) => a - b);
    const busy = times((mailbox) => mailbox === busiest);
    const others = times((mailbox) => mailbox !== busiest);
    // The busiest mailbox's import stops for its window: its longest pause, and when it went on.
    const pauses = busy.slice(1).map((time, i) => ({ length: time - busy[i]!, resumedAt: time }));
    const longest = pauses.sort((a, b) => b.length - a.length)[0]!;
    expect(longest.length).toBeGreaterThan(WINDOW_MS / 4);
    expect(others.at(-1)!).toBeLessThan(longest.resumedAt);
  });
});
