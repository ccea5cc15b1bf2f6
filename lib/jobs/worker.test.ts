import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { messageIdFor } from "@/lib/convert";
import { db } from "@/lib/db";
import { jobQueue, stopJobQueue } from "./boss";
import { DRAIN_QUEUE, IMPORT_QUEUE } from "./definitions";
import { RUN_JOB_TIMEOUT_SECONDS } from "./heartbeat";
import { requestImport } from "./request";
import { startWorker, type Worker } from "./worker";
import { canRun, startHarness, until, waitForRunEnd, type Harness } from "@/lib/testing";

if (!canRun)
  console.warn(
    "lib/jobs worker tests skipped: needs vitest's globalSetup (DATABASE_URL, Azurite, NODE_EXTRA_CA_CERTS for the M365 sandbox)",
  );

/** A pg-boss job's state and retries once it reaches `state`, or as they stand after 20 s. */
async function jobOnceIn(id: string | null, state: string) {
  let job: { state: string; retry_count: number } | undefined;
  await until(async () => {
    [job] = await db.$queryRaw<{ state: string; retry_count: number }[]>`
        SELECT state::text, retry_count FROM pgboss.job WHERE id = ${id}::uuid`;
    return job?.state === state;
  }, 50_000).catch(() => undefined);
  return job;
}

describe.skipIf(!canRun)("workers sharing one database", () => {
  let h: Harness;
  const workers: Worker[] = [];

  beforeAll(async () => {
    h = await startHarness({ seed: "two-workers", users: 8, messages: 80 });
    // Not due for a scheduled run: a scheduler's tick (any worker of the shared database) would otherwise
    // queue one before this file's own Run now, which must be the run the workers share.
    await db.connector.update({
      where: { id: h.connector.id },
      data: { nextRunAt: new Date(Date.now() + 86_400_000) },
    });
    // Slow Graph down a little so the import phase outlasts the helpers' polling interval.
    h.m365.setFaults({ latencyMs: 40 });
    for (const workerId of ["worker-a", "worker-b"]) {
      workers.push(
        await startWorker({
          concurrency: 2,
          workerId,
          environment: h.environment,
          delivery: { batchSize: 6 },
          helpersPerRun: 4,
          consentWait: { firstDelaySeconds: 1, maxDelaySeconds: 1 },
          // A dead worker's run job is offered again within seconds.
          recovery: { expireSeconds: 4 },
          maintenanceIntervalSeconds: 1,
        }),
      );
    }
  });
  afterAll(async () => {
    await Promise.all(workers.map((worker) => worker.stop()));
    await stopJobQueue();
    await h?.close();
  });

  it("split one run's items between two workers, and every pair is imported exactly once", async () => {
    const { runId, alreadyQueued } = await requestImport({
      connectorId: h.connector.id,
      trigger: "MANUAL",
      requestedBy: "test",
    });
    expect(alreadyQueued).toBe(false);
    expect(await requestImport({ connectorId: h.connector.id, trigger: "MANUAL" })).toEqual({
      runId,
      alreadyQueued: true,
    });

    const run = await waitForRunEnd(runId, 50_000);
    expect(run.status).toBe("SUCCEEDED");

    const expected = await h.expected();
    const pairs = expected.flatMap(({ message, mailboxes }) =>
      mailboxes.map((mailbox) => `${mailbox}|${messageIdFor(message.messageId)}`),
    );
    expect(run.itemsImported).toBe(pairs.length);
    const items = h.m365
      .mailboxes()
      .flatMap((user) =>
        (h.m365.items(user.mail) ?? []).map((item) => `${user.mail.toLowerCase()}|${item.internetMessageId}`),
      );
    expect(items.sort()).toEqual(pairs.sort());

    const byWorker = await db.importItem.groupBy({
      by: ["claimedBy"],
      where: { runId, status: "IMPORTED" },
      _count: true,
    });
    expect(byWorker.map((row) => row.claimedBy).sort()).toEqual(["worker-a", "worker-b"]);
    expect(Math.min(...byWorker.map((row) => row._count))).toBeGreaterThan(0);
  });

  it("drops a job whose payload is malformed, by itself, and keeps working", async () => {
    const boss = await jobQueue();
    const malformed = [
      await boss.send(IMPORT_QUEUE, { runId: "not-a-uuid", connectorId: h.connector.id }),
      await boss.send(DRAIN_QUEUE, { nothing: true }),
    ];
    for (const id of malformed) {
      expect(id).toBeTruthy();
      const job = await jobOnceIn(id, "cancelled");
      // Dropped at once, never retried (no retry can fix a malformed payload); the log says why.
      expect(job).toEqual({ state: "cancelled", retry_count: 0 });
    }
    // The workers are still alive: a new run is taken and finished.
    const { runId } = await requestImport({ connectorId: h.connector.id, trigger: "MANUAL" });
    const run = await waitForRunEnd(runId, 50_000);
    expect(run.status).toBe("SUCCEEDED");
    // The workers take any test file's jobs (one database): under CI's load a slot may free late.
  }, 150_000);

  it("lets the first run after admin consent wait for Microsoft 365 to apply it, saying so, instead of failing", async () => {
    const room = h.symphony.org.streams.find((s) => s.type === "ROOM")!;
    h.symphony.addMessage({ streamId: room.id, text: "right after consent" });
    // Consent given just now: for a few seconds Entra ID still issues tokens without the app's roles.
    h.m365.setFaults({ consentDelaySeconds: 8 });
    h.m365.setConsent(false);
    h.m365.setConsent(true);
    await db.connector.update({ where: { id: h.connector.id }, data: { consentGrantedAt: new Date() } });
    try {
      const { runId } = await requestImport({ connectorId: h.connector.id, trigger: "MANUAL" });
      const waiting = async () => db.importRun.findUniqueOrThrow({ where: { id: runId } });
      await until(async () => (await waiting()).error !== null, 30_000, "the run says it waits");
      expect(await waiting()).toMatchObject({
        status: "RUNNING",
        error: expect.stringMatching(
          /^Waiting for Microsoft 365 to apply the admin consent given at \d\d:\d\d UTC/,
        ) as unknown,
      });

      const run = await waitForRunEnd(runId, 50_000);
      expect(run).toMatchObject({ status: "SUCCEEDED", error: null });
      expect(run.itemsImported).toBeGreaterThan(0);
    } finally {
      h.m365.setFaults({ consentDelaySeconds: 0 });
    }
  });

  it("offers again the run of a worker that died as it took the job, not hours later", async () => {
    const run = await db.importRun.create({
      data: { connectorId: h.connector.id, trigger: "MANUAL", requestedBy: "test" },
    });
    const boss = await jobQueue();
    // Sent as requestImport sends it, but not due: no live worker takes it before the "dying" one below.
    const id = await boss.send(
      IMPORT_QUEUE,
      { runId: run.id, connectorId: h.connector.id },
      { expireInSeconds: RUN_JOB_TIMEOUT_SECONDS, retryLimit: 5, retryDelay: 0, startAfter: 3600 },
    );
    // A worker takes it (as pg-boss's fetch does) and is killed before its first renewal.
    const taken = await db.$executeRaw`
      UPDATE pgboss.job SET state = 'active', started_on = now(), start_after = now() WHERE id = ${id}::uuid`;
    expect(taken).toBe(1);

    const ended = await waitForRunEnd(run.id, 50_000);
    expect(ended.status).toBe("SUCCEEDED");
    const [job] = await db.$queryRaw<{ retry_count: number }[]>`
      SELECT retry_count FROM pgboss.job WHERE id = ${id}::uuid`;
    expect(job?.retry_count).toBe(1);
  });

  it("ends the job of a run whose connector was deleted, at once and without retries", async () => {
    const boss = await jobQueue();
    const id = await boss.send(IMPORT_QUEUE, { runId: randomUUID(), connectorId: randomUUID() });
    const job = await jobOnceIn(id, "completed");
    expect(job).toEqual({ state: "completed", retry_count: 0 });
  });
});
