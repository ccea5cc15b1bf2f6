import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { db } from "@/lib/db";
import { runImport } from "@/lib/pipeline";
import { canRun, startHarness, type Harness } from "@/lib/testing";
import { pauseConnector, resumeConnector, runNow } from "./lifecycle";

// The dashboard promises the next scheduled run; what an admin does in between must not move it.
describe.skipIf(!canRun)("a connector's schedule", () => {
  let h: Harness;
  const nextRunOf = async () =>
    (await db.connector.findUniqueOrThrow({ where: { id: h.connector.id }, select: { nextRunAt: true } })).nextRunAt;

  beforeAll(async () => {
    h = await startHarness({ seed: "schedule-slots", users: 4, messages: 10 });
  });
  afterAll(() => h?.close());

  it("keeps its next run through Run now, the run finishing, and Pause then Resume", async () => {
    const slot = new Date(Date.now() + 37 * 60_000);
    await db.connector.update({ where: { id: h.connector.id }, data: { nextRunAt: slot } });

    const started = await runNow(h.connector.id, "admin@example.test");
    if (!started.ok || !started.runId) throw new Error(`Run now was refused: ${JSON.stringify(started)}`);
    await runImport(started.runId, { workerId: "schedule-worker", environment: h.environment });
    expect(await nextRunOf()).toEqual(slot);

    expect(await pauseConnector(h.connector.id, "admin@example.test")).toEqual({ ok: true });
    expect(await resumeConnector(h.connector.id, "admin@example.test")).toEqual({ ok: true });
    expect(await nextRunOf()).toEqual(slot);
  });

  it("resumes on the next slot of the same schedule when the pause spanned one", async () => {
    const interval = h.connector.scheduleIntervalMinutes * 60_000;
    const missed = new Date(Date.now() - interval / 2);
    await db.connector.update({ where: { id: h.connector.id }, data: { nextRunAt: missed } });
    await pauseConnector(h.connector.id, "admin@example.test");
    await resumeConnector(h.connector.id, "admin@example.test");
    expect(await nextRunOf()).toEqual(new Date(missed.getTime() + interval));
  });

  it("pauses once when two admins pause at the same moment, and audits one pause", async () => {
    const admins = ["a@example.test", "b@example.test"];
    const before = await db.auditEvent.count({ where: { connectorId: h.connector.id, action: "connector.paused" } });
    const results = await Promise.all(admins.map((admin) => pauseConnector(h.connector.id, admin)));
    expect(results).toEqual(
      expect.arrayContaining([{ ok: true }, { ok: false, message: "Only an active connector can be paused." }]),
    );
    expect(await db.auditEvent.count({ where: { connectorId: h.connector.id, action: "connector.paused" } })).toBe(
      before + 1,
    );
    await resumeConnector(h.connector.id, "a@example.test");
  });
});
