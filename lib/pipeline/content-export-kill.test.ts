// Kill test for Content Export: one run worked by `scripts/worker.ts` child processes, compiled as
// `npm start` runs them (scripts/worker-build.ts), that are SIGKILLed while a file downloads, while it is decrypted and parsed, while its messages are recorded,
// and during the import, and restarted each time. In the end every (message, present participant's
// mailbox) pair is in the Microsoft 365 sandbox exactly once, every file is DONE and the run SUCCEEDED.
//   CE_KILL_TEST_KILLS  SIGKILLs before a last worker may finish the run (default 12)
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { db } from "@/lib/db";
import { buildWorker } from "@/scripts/worker-build";
import { requestImport, stopJobQueue } from "@/lib/jobs";
import {
  canRun,
  exactlyOnceProblems,
  runJob,
  spawnWorker,
  startHarness,
  startPrivateServers,
  waitForRunEnd,
  workerEnv,
  type Harness,
  type PrivateServers,
  type WorkerProcess,
} from "@/lib/testing";

const settings = z.object({ CE_KILL_TEST_KILLS: z.coerce.number().int().min(4).default(12) }).parse(process.env);

type Phase = "download" | "decrypt and parse" | "record" | "import";
/** The moments aimed at, in turn: each file stage twice as often as the import. */
const TARGETS: Phase[] = ["download", "decrypt and parse", "record", "import"];

if (!canRun) console.warn("lib/pipeline Content Export kill test skipped: needs vitest's globalSetup");

describe.skipIf(!canRun)("a Content Export run whose workers are killed again and again", () => {
  let h: Harness;
  let worker: WorkerProcess | undefined;
  let servers: PrivateServers | undefined;
  let compiled: string;

  beforeAll(async () => {
    compiled = await buildWorker(process.cwd());
    servers = await startPrivateServers("ce-kills");
    h = await startHarness({
      seed: "ce-kill-test",
      users: 10,
      messages: 200,
      largeAttachments: false,
      contentExport: { delivery: "FILES_API" },
    });
    // Slow mailboxes stretch the import over several kill moments.
    h.m365.setLimits({ requestsPerWindow: 5, requestWindowMs: 1_000 });
  });
  afterAll(async () => {
    await worker?.kill();
    await stopJobQueue();
    await h?.close();
    await servers?.stop();
  });

  /** Where the run is now, read from the file ledger and the item ledger. */
  async function phaseNow(): Promise<Phase | "listing" | "done"> {
    const files = await db.exportFile.findMany({
      where: { connectorId: h.connector.id, status: { not: "DONE" } },
      select: { status: true },
    });
    if (files.some((file) => file.status === "PARSED")) return "record";
    if (files.some((file) => file.status === "DOWNLOADED")) return "decrypt and parse";
    if (files.some((file) => file.status === "NEW" || file.status === "FAILED")) return "download";
    const pending = await db.importItem.count({ where: { connectorId: h.connector.id, status: "PENDING" } });
    if (pending > 0) return "import";
    return (await db.exportFile.count({ where: { connectorId: h.connector.id } })) === 0 ? "listing" : "done";
  }

  /** Polls the ledger quickly until the run is at `target` (or past the point of reaching it). */
  async function reach(target: Phase, timeoutMs: number): Promise<void> {
    for (const deadline = Date.now() + timeoutMs; Date.now() < deadline;) {
      const phase = await phaseNow();
      if (phase === target || phase === "done") return;
      if (target !== "import" && phase === "import") return; // every file is done: nothing left to aim at
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  }

  it(`imports every pair exactly once after ${settings.CE_KILL_TEST_KILLS} SIGKILLs at every stage of a file and of the import`, async () => {
    const { runId } = await requestImport({ connectorId: h.connector.id, trigger: "MANUAL", requestedBy: "kill-test" });
    const env = workerEnv(h);
    const kills: Array<{ aimed: Phase; hit: string }> = [];
    while (kills.length < settings.CE_KILL_TEST_KILLS) {
      worker = spawnWorker(env, { compiled });
      const aimed = TARGETS[kills.length % TARGETS.length]!;
      await reach(aimed, 30_000);
      const hit = await phaseNow();
      await worker.kill("SIGKILL");
      kills.push({ aimed, hit });
      if (hit === "done") break;
    }
    worker = spawnWorker(env, { compiled });
    const run = await waitForRunEnd(runId, 180_000);
    await worker.kill("SIGTERM");
    const hits = new Map<string, number>();
    for (const kill of kills) hits.set(kill.hit, (hits.get(kill.hit) ?? 0) + 1);
    console.info(`content export kill test: ${kills.length} kills, hit ${JSON.stringify(Object.fromEntries(hits))}`);

    expect(kills).toHaveLength(settings.CE_KILL_TEST_KILLS);
    expect(run.status, `${run.error ?? ""}\n${worker.output()}`).toBe("SUCCEEDED");
    expect(await runJob(runId)).toMatchObject({ state: "completed" });
    // The kills landed in the file stages and in the import, not only in one of them.
    expect(hits.get("import") ?? 0).toBeGreaterThan(0);
    expect(
      (hits.get("download") ?? 0) + (hits.get("decrypt and parse") ?? 0) + (hits.get("record") ?? 0),
    ).toBeGreaterThanOrEqual(3);

    const { report, problems } = await exactlyOnceProblems(h);
    expect(problems).toEqual([]);
    expect(run).toMatchObject({ itemsImported: report.expected, itemsFailed: 0 });
    const files = await db.exportFile.findMany({ where: { connectorId: h.connector.id } });
    for (const file of files) {
      expect(file.status, file.name).toBe("DONE");
      expect(await db.exportFileMessage.count({ where: { exportFileId: file.id } })).toBe(file.messagesInFile);
    }
  }, 300_000);
});
