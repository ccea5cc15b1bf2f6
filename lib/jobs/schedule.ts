import { db } from "@/lib/db";
import { requestImport } from "./request";
import { nextSlotAfter } from "@/lib/next-run";

/**
 * Queues a run for every ACTIVE connector whose nextRunAt has come (or was never set) and moves its
 * nextRunAt to the schedule's next slot, so the next minute's tick does not ask again. Safe to call from several
 * places at once (cron route, every worker's scheduler job): requestImport never opens a second run.
 */
export async function enqueueDueImports(
  now = new Date(),
): Promise<Array<{ connectorId: string; runId: string; alreadyQueued: boolean }>> {
  const due = await db.connector.findMany({
    where: { status: "ACTIVE", OR: [{ nextRunAt: null }, { nextRunAt: { lte: now } }] },
    select: { id: true, nextRunAt: true, scheduleIntervalMinutes: true },
  });
  const queued = [];
  for (const connector of due) {
    const claimed = await db.connector.updateMany({
      where: { id: connector.id, nextRunAt: connector.nextRunAt },
      data: { nextRunAt: nextSlotAfter(connector.nextRunAt, now, connector.scheduleIntervalMinutes) },
    });
    if (claimed.count === 0) continue; // another scheduler got it first
    queued.push({
      connectorId: connector.id,
      ...(await requestImport({ connectorId: connector.id, trigger: "SCHEDULE" })),
    });
  }
  return queued;
}
