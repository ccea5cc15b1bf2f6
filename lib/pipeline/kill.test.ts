// Kill test: one import run worked by `scripts/worker.ts` child processes that are SIGKILLed at
// seeded random moments, during collect and during import, and restarted each time. In the end every
// (message, mapped mailbox) pair is in the Microsoft 365 sandbox exactly once, the ledger agrees and
// the run SUCCEEDED.
//
// Size (CI default: 400 messages, 10 kills, about a minute on 2 cores):
//   KILL_TEST_MESSAGES  messages in the seeded organisation (default 400)
//   KILL_TEST_KILLS     SIGKILLs before a last worker may finish the run (default 10)
//   KILL_TEST_SEED      seed of the kill moments (default "kills")
// Larger local run, a few minutes:
//   KILL_TEST_MESSAGES=1500 KILL_TEST_KILLS=40 npx vitest run lib/pipeline/kill.test.ts
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { db } from "@/lib/db";
import { stopJobQueue } from "@/lib/jobs";
import { requestImport } from "@/lib/jobs";
import { seededRandom } from "@/sandbox/org";
import { startPrivateServers, type PrivateServers } from "@/lib/testing";
import { canRun, deliveryReport, ledgerMismatches, startHarness, type Harness } from "@/lib/testing";
import { runJob, spawnWorker, until, waitForRunEnd, workerEnv, type WorkerProcess } from "@/lib/testing";

const settings = z
  .object({
    KILL_TEST_MESSAGES: z.coerce.number().int().min(20).default(400),
    KILL_TEST_KILLS: z.coerce.number().int().min(1).default(10),
    KILL_TEST_SEED: z.string().min(1).default("kills"),
  })
  .parse(process.env);

if (!canRun)
  console.warn(
    "lib/pipeline kill test skipped: needs vitest's globalSetup (DATABASE_URL, Azurite, NODE_EXTRA_CA_CERTS for the M365 sandbox)",
  );

describe.skipIf(!canRun)("a run whose workers are killed again and again", () => {
  let h: Harness;
  let worker: WorkerProcess | undefined;

  let servers: PrivateServers | undefined;

  beforeAll(async () => {
    // Its own PostgreSQL: no other test file's workers may take this run's job from the queue.
    servers = await startPrivateServers("kills");
    h = await startHarness({ seed: "kill-test", users: 10, messages: settings.KILL_TEST_MESSAGES });
    // A little latency on both sides stretches collect and import over many kill moments.
    h.symphony.setFaults({ latencyMs: 10 });
    h.m365.setFaults({ latencyMs: 20 });
    // A restarted worker drains items (drain jobs) before it takes the run job back, so the import
    // is held to ~5 Graph requests per second per mailbox: otherwise a fast machine finishes the run
    // before all the kills have happened. The scheduler waits out the 429s' Retry-After.
    h.m365.setLimits({ requestsPerWindow: 5, requestWindowMs: 1_000 });
  });
  afterAll(async () => {
    await worker?.kill();
    await stopJobQueue();
    await h?.close();
    await servers?.stop();
  });

  it(`imports every pair exactly once after ${settings.KILL_TEST_KILLS} SIGKILLs during collect and import`, async () => {
    const started = Date.now();
    const random = seededRandom(settings.KILL_TEST_SEED);
    const messageCount = (await h.expected()).length;
    const { runId } = await requestImport({ connectorId: h.connector.id, trigger: "MANUAL", requestedBy: "kill-test" });
    // Kills, not hung attempts, are under test here: an attempt of an item with 10 MB attachments on a
    // loaded two-core machine can take longer than fast recovery's 20 s, and seven of those fail it.
    const env = workerEnv(h, { WORKER_ATTEMPT_TIMEOUT_SECONDS: "90" });
    const kills: Array<{ phase: "collect" | "import"; afterMs: number }> = [];

    const collected = () => db.sourceMessage.count({ where: { connectorId: h.connector.id } });
    const imported = () => db.importItem.count({ where: { connectorId: h.connector.id, status: "IMPORTED" } });
    let lastPickup = -1;
    while (kills.length < settings.KILL_TEST_KILLS) {
      worker = spawnWorker(env);
      // Wait for this worker to take the run job (after the killed one's job expired).
      const pickup = await runJobTakenAfter(runId, lastPickup, 30_000);
      if (pickup === undefined) break; // the run ended: the workload was too small for the kills asked
      lastPickup = pickup;
      // The first 40% of the kills aim at collect (if it is still going on); the others at the import.
      // Each kill waits for a seeded amount of new progress, not for a time, so that a fast machine
      // cannot finish the run before all the kills have happened.
      const inImport = kills.length >= Math.ceil(settings.KILL_TEST_KILLS * 0.4);
      if (inImport) await until(async () => (await collected()) === messageCount, 30_000);
      const progress = inImport ? imported : collected;
      const target = (await progress()) + 1 + Math.floor(random() * (inImport ? 12 : 6));
      // Collect commits a bundle's batches close together and may be over before a kill aimed at it.
      const aimedPast = async () => !inImport && (await collected()) === messageCount;
      await until(async () => (await progress()) >= target || (await aimedPast()) || (await runEnded(runId)), 30_000);
      const afterMs = Math.round(random() * 100);
      await sleep(afterMs);
      const phase = (await collected()) < messageCount ? "collect" : "import";
      await worker.kill("SIGKILL");
      kills.push({ phase, afterMs });
    }
    expect(kills, `the run ended after ${kills.length} kills; raise KILL_TEST_MESSAGES`).toHaveLength(
      settings.KILL_TEST_KILLS,
    );

    worker = spawnWorker(env);
    const run = await waitForRunEnd(runId, 180_000);
    await worker.kill("SIGTERM");
    const byPhase = {
      collect: kills.filter((k) => k.phase === "collect").length,
      import: kills.filter((k) => k.phase === "import").length,
    };
    console.info(
      `kill test: ${messageCount} messages, ${kills.length} kills (${byPhase.collect} in collect, ${byPhase.import} in import), ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );

    const failed = await db.importItem.findMany({
      where: { connectorId: h.connector.id, status: "FAILED" },
      select: { mailbox: true, attempts: true, reason: true },
      take: 5,
    });
    expect(run.status, `${run.error ?? ""}\nfailed items: ${JSON.stringify(failed)}\n${worker.output()}`).toBe(
      "SUCCEEDED",
    );
    // One retry of the run job per kill: nothing else (such as pg-boss's own handler timeout) failed it.
    expect(await runJob(runId)).toEqual({ state: "completed", retryCount: kills.length });
    expect(byPhase.collect).toBeGreaterThan(0);
    expect(byPhase.import).toBeGreaterThan(0);

    const report = await deliveryReport(h);
    expect(report.expected).toBeGreaterThan(messageCount);
    expect(report.missing).toEqual([]);
    expect(report.duplicated).toEqual([]);
    expect(report.unexpected).toEqual([]);

    expect(await ledgerMismatches(h)).toEqual([]);
    const ledger = await db.importItem.groupBy({
      by: ["status"],
      where: { connectorId: h.connector.id, status: { not: "SKIPPED" } },
      _count: true,
    });
    expect(ledger).toEqual([{ status: "IMPORTED", _count: report.expected }]);
    expect(run).toMatchObject({ itemsImported: report.expected, itemsFailed: 0, messagesCollected: messageCount });
    // The kills hit items in flight: some were claimed more than once and found or created on a later attempt.
    expect(await db.importItem.count({ where: { connectorId: h.connector.id, attempts: { gt: 1 } } })).toBeGreaterThan(
      0,
    );
  }, 330_000);
});

async function runEnded(runId: string): Promise<boolean> {
  const run = await db.importRun.findUniqueOrThrow({ where: { id: runId }, select: { status: true } });
  return run.status !== "QUEUED" && run.status !== "RUNNING";
}

/** pg-boss's retry count of the run job once a worker holds it with a count above `after`; undefined if the run ended. */
async function runJobTakenAfter(runId: string, after: number, timeoutMs: number): Promise<number | undefined> {
  let taken: number | undefined;
  await until(
    async () => {
      const job = await runJob(runId);
      if (job?.state === "active" && job.retryCount > after) taken = job.retryCount;
      return taken !== undefined || ["completed", "failed"].includes(job?.state ?? "");
    },
    timeoutMs,
    `a worker taking run ${runId}`,
  );
  return taken;
}
