// Run requests: a run and its job are written together, and an open run whose job is gone is offered
// again rather than blocking its connector. This file's own PostgreSQL: the shared one's workers would
// take these jobs.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { db } from "@/lib/db";
import { canRun, startPrivateServers, type PrivateServers } from "@/lib/testing";
import { stopJobQueue } from "./boss";
import { IMPORT_QUEUE } from "./definitions";
import { reofferJoblessRuns, reofferRun, requestImport, RUN_OFFER_LIMIT, RUN_RETRY_LIMIT } from "./request";

type JobRow = { id: string; state: string; retry_limit: number; xmin: string };

/** The run's pg-boss jobs, oldest first, with the transaction that wrote each. */
function jobsOf(runId: string): Promise<JobRow[]> {
  return db.$queryRaw<JobRow[]>`
    SELECT id::text, state::text, retry_limit, xmin::text FROM pgboss.job
    WHERE name = ${IMPORT_QUEUE} AND data->>'runId' = ${runId} ORDER BY created_on`;
}

/** What a worker's last try leaves when the database was away as it ended: the job over, the run still open. */
async function endJobsOf(runId: string): Promise<void> {
  await db.$executeRaw`UPDATE pgboss.job SET state = 'failed' WHERE name = ${IMPORT_QUEUE} AND data->>'runId' = ${runId}`;
}

async function newConnector(label = "run"): Promise<string> {
  const connector = await db.connector.create({ data: { name: `${label}-${randomUUID()}`, createdBy: "test" } });
  return connector.id;
}

describe.skipIf(!canRun)("run requests", () => {
  let servers: PrivateServers | undefined;

  beforeAll(async () => {
    servers = await startPrivateServers("requests");
  });
  afterAll(async () => {
    await stopJobQueue();
    await servers?.stop();
  });

  it("writes a new run and its job in one transaction, and a second request returns the same run", async () => {
    const connectorId = await newConnector();
    const { runId, alreadyQueued } = await requestImport({ connectorId, trigger: "MANUAL", requestedBy: "test" });
    expect(alreadyQueued).toBe(false);
    const [run] = await db.$queryRaw<Array<{ xmin: string }>>`
      SELECT xmin::text FROM "ImportRun" WHERE id = ${runId}::uuid`;
    const jobs = await jobsOf(runId);
    expect(jobs).toEqual([expect.objectContaining({ state: "created", retry_limit: RUN_RETRY_LIMIT })]);
    expect(jobs[0]!.xmin).toBe(run!.xmin);

    expect(await requestImport({ connectorId, trigger: "SCHEDULE" })).toEqual({ runId, alreadyQueued: true });
    expect(await jobsOf(runId)).toHaveLength(1);
  });

  it("offers an open run again when its job is gone, once, when the connector's next run is asked for", async () => {
    const connectorId = await newConnector();
    const { runId } = await requestImport({ connectorId, trigger: "MANUAL" });
    await endJobsOf(runId);

    expect(await requestImport({ connectorId, trigger: "MANUAL" })).toEqual({ runId, alreadyQueued: true });
    expect((await jobsOf(runId)).map((job) => job.state)).toEqual(["failed", "created"]);
    await requestImport({ connectorId, trigger: "MANUAL" });
    expect(await jobsOf(runId)).toHaveLength(2);
  });

  it("offers every open run without a job again on the scheduler's tick, and nothing else", async () => {
    const [jobEnded, running, finished, unsent, byHand, crashing] = await Promise.all(
      ["job-ended", "running", "finished", "unsent", "by-hand", "crashing"].map((label) => newConnector(label)),
    ).then((ids) => ids as [string, string, string, string, string, string]);
    const orphan = (await requestImport({ connectorId: jobEnded, trigger: "SCHEDULE" })).runId;
    await db.importRun.update({ where: { id: orphan }, data: { status: "RUNNING" } });
    await endJobsOf(orphan);
    const healthy = (await requestImport({ connectorId: running, trigger: "SCHEDULE" })).runId;
    const done = (await requestImport({ connectorId: finished, trigger: "SCHEDULE" })).runId;
    await db.importRun.update({ where: { id: done }, data: { status: "SUCCEEDED", finishedAt: new Date() } });
    await endJobsOf(done);
    // Queued minutes ago and never sent (before a run and its job were written together).
    const neverSent = await db.importRun.create({
      data: { connectorId: unsent, trigger: "MANUAL", startedAt: new Date(Date.now() - 3 * 60_000) },
    });
    // `npm run import` at work in a terminal: running, never a job.
    const cli = await db.importRun.create({ data: { connectorId: byHand, trigger: "MANUAL", status: "RUNNING" } });
    // A run whose every offer ended without it finishing (its workers kept dying): failed, not offered again.
    const spent = (await requestImport({ connectorId: crashing, trigger: "SCHEDULE" })).runId;
    for (let offer = 1; offer < RUN_OFFER_LIMIT; offer++) {
      await endJobsOf(spent);
      expect(await requestImport({ connectorId: crashing, trigger: "SCHEDULE" })).toEqual({
        runId: spent,
        alreadyQueued: true,
      });
    }
    await endJobsOf(spent);
    expect(await jobsOf(spent)).toHaveLength(RUN_OFFER_LIMIT);
    // Real-time capture's run never has a job of its own: drain jobs import what it captures.
    const capture = await db.importRun.create({
      data: { connectorId: running, trigger: "CONTINUOUS", status: "RUNNING", requestedBy: "real-time capture" },
    });

    const { offered, failed } = await reofferJoblessRuns();
    expect(offered.sort()).toEqual([orphan, neverSent.id].sort());
    expect(failed).toEqual([spent]);
    expect(await db.importRun.findUnique({ where: { id: spent } })).toMatchObject({
      status: "FAILED",
      error: expect.stringMatching(/the import stopped without finishing in each of its 3 offers/) as unknown,
    });
    expect(await jobsOf(spent)).toHaveLength(RUN_OFFER_LIMIT);
    expect((await jobsOf(orphan)).map((job) => job.state)).toEqual(["failed", "created"]);
    expect((await jobsOf(neverSent.id)).map((job) => job.state)).toEqual(["created"]);
    expect(await jobsOf(healthy)).toHaveLength(1);
    expect(await jobsOf(done)).toHaveLength(1);
    expect(await jobsOf(cli.id)).toHaveLength(0);
    expect(await jobsOf(capture.id)).toHaveLength(0);
    expect(await reofferJoblessRuns()).toEqual({ offered: [], failed: [] });

    // Interrupted, `npm run import` hands its run over to the workers.
    expect(await reofferRun({ id: cli.id, connectorId: byHand }, { force: true })).toBe("offered");
    expect(await reofferRun({ id: cli.id, connectorId: byHand }, { force: true })).toBe(false);
    expect(await jobsOf(cli.id)).toHaveLength(1);
  });
});
