import type PgBoss from "pg-boss";
import { db } from "@/lib/db";
import { Prisma, type ImportRun } from "@/lib/generated/prisma/client";
import { logger } from "@/lib/logger";
import { failRun } from "@/lib/pipeline";
import { jobQueue } from "./boss";
import { IMPORT_QUEUE, type ImportJob } from "./definitions";
import { defaultRunJobRecovery, RUN_JOB_TIMEOUT_SECONDS } from "./heartbeat";

export interface ImportRequest {
  connectorId: string;
  trigger: "MANUAL" | "SCHEDULE" | "SETUP";
  requestedBy?: string;
}

type Tx = Prisma.TransactionClient;

/** The connector's queued or running run (not the real-time capture's), read under its lock. */
async function lockOpenRun(tx: Tx, connectorId: string): Promise<ImportRun | null> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${`import:${connectorId}`}))`;
  return tx.importRun.findFirst({
    where: { connectorId, status: { in: ["QUEUED", "RUNNING"] }, trigger: { not: "CONTINUOUS" } },
    orderBy: { startedAt: "desc" },
  });
}

/**
 * The connector's run that is queued or running, or a new QUEUED run: a connector never has two
 * runs at once (an advisory lock serialises concurrent requests). The real-time capture's own run
 * (CONTINUOUS, open while capture goes on) is not one of them: the daily export still runs beside it.
 */
export async function openRun(request: ImportRequest): Promise<{ run: ImportRun; created: boolean }> {
  return db.$transaction((tx) => openRunIn(tx, request));
}

async function openRunIn(tx: Tx, request: ImportRequest): Promise<{ run: ImportRun; created: boolean }> {
  const active = await lockOpenRun(tx, request.connectorId);
  if (active) return { run: active, created: false };
  const run = await tx.importRun.create({
    data: { connectorId: request.connectorId, trigger: request.trigger, requestedBy: request.requestedBy },
  });
  return { run, created: true };
}

/** Offers of one run job before its run is FAILED: with the default retry delay, about an hour of outage. */
export const RUN_RETRY_LIMIT = 120;

/** pg-boss's statements run inside a Prisma transaction, so that a job is written with its run or not at all. */
function inTransaction(tx: Tx): PgBoss.Db {
  return {
    executeSql: async (text, values) => ({
      rows: await tx.$queryRawUnsafe<unknown[]>(text, ...values.map((value: unknown) => value ?? null)),
    }),
  };
}

/**
 * Runs that are open (queued or running, not real-time capture's) with no job that pg-boss still
 * offers or a worker holds, and that no one else is working: either a job of theirs has ended (a
 * worker's last try could not record the run's end while the database was away, or its tries ran out
 * as its workers died), or they were queued minutes ago and never had a job (queued before run and
 * job were written together). A running run that never had a job is `npm run import`'s, at work in
 * its terminal: it is left to it. `offers`: the jobs it has had.
 */
function joblessRuns(where: Prisma.Sql, handedOver = false): Prisma.Sql {
  const jobsOf = (table: Prisma.Sql) =>
    Prisma.sql`FROM ${table} j WHERE j.name = ${IMPORT_QUEUE} AND j.data->>'runId' = r.id::text`;
  return Prisma.sql`
    SELECT * FROM (
      SELECT r.id::text AS id, r."connectorId"::text AS "connectorId", r.status::text AS status, r."startedAt",
        ((SELECT count(*) ${jobsOf(Prisma.sql`pgboss.job`)}) + (SELECT count(*) ${jobsOf(Prisma.sql`pgboss.archive`)}))::int AS offers
      FROM "ImportRun" r
      WHERE ${where} AND r.status IN ('QUEUED', 'RUNNING') AND r.trigger <> 'CONTINUOUS'
        AND NOT EXISTS (SELECT 1 ${jobsOf(Prisma.sql`pgboss.job`)} AND j.state IN ('created', 'retry', 'active'))
    ) candidate
    -- "startedAt" is UTC without a time zone, as Prisma writes it.
    WHERE ${handedOver} OR offers > 0 OR (status = 'QUEUED' AND "startedAt" < (now() AT TIME ZONE 'UTC') - interval '2 minutes')`;
}

type RunRef = { id: string; connectorId: string };
type JoblessRun = RunRef & { offers: number };

/** Offers of one run (each up to RUN_RETRY_LIMIT tries) before it is FAILED: a run that keeps ending its workers stops. */
export const RUN_OFFER_LIMIT = 3;

async function joblessRun(tx: Tx, runId: string, handedOver = false): Promise<JoblessRun | undefined> {
  const [found] = await tx.$queryRaw<JoblessRun[]>(joblessRuns(Prisma.sql`r.id = ${runId}::uuid`, handedOver));
  return found;
}

async function sendRunJob(tx: Tx, boss: PgBoss, job: ImportJob): Promise<void> {
  await boss.send(IMPORT_QUEUE, job, {
    // A run resumes where it stopped, so it may be retried many times (killed workers, outages);
    // errors that need an administrator fail it at once (see the worker). The worker holding the
    // job sets its expiry and retry delay and renews it while it runs (heartbeat.ts).
    retryLimit: RUN_RETRY_LIMIT,
    retryDelay: defaultRunJobRecovery.retryDelaySeconds,
    expireInSeconds: RUN_JOB_TIMEOUT_SECONDS,
    db: inTransaction(tx),
  });
}

/**
 * Queues an import run for a connector, or returns the run already queued or running. The run and its
 * job are written in one transaction; an open run no job stands for any more (see joblessRuns) is
 * offered again, never left to block the connector.
 */
export async function requestImport(request: ImportRequest): Promise<{ runId: string; alreadyQueued: boolean }> {
  const boss = await jobQueue();
  const { run, created } = await db.$transaction(async (tx) => {
    const opened = await openRunIn(tx, request);
    const jobless = opened.created ? undefined : await joblessRun(tx, opened.run.id);
    // One whose offers are spent is failed by the scheduler's next look (reofferJoblessRuns).
    if (opened.created || (jobless && jobless.offers < RUN_OFFER_LIMIT)) {
      if (jobless) logger.warn({ runId: opened.run.id }, "open run had no job; offered again");
      await sendRunJob(tx, boss, { runId: opened.run.id, connectorId: request.connectorId });
    }
    return opened;
  });
  return { runId: run.id, alreadyQueued: !created };
}

/**
 * Offers a run to the workers again if it is still open and no job stands for it (see joblessRuns; a
 * run `npm run import` gives up is handed over with `force`). It resumes where it stopped. After
 * RUN_OFFER_LIMIT offers it is FAILED instead.
 */
export async function reofferRun(
  run: RunRef,
  options: { force?: boolean } = {},
): Promise<"offered" | "failed" | false> {
  const boss = await jobQueue();
  const outcome = await db.$transaction(async (tx) => {
    const open = await lockOpenRun(tx, run.connectorId);
    const jobless = open?.id === run.id ? await joblessRun(tx, run.id, options.force) : undefined;
    if (!jobless) return false;
    if (jobless.offers >= RUN_OFFER_LIMIT) return "spent";
    await sendRunJob(tx, boss, { runId: run.id, connectorId: run.connectorId });
    return "offered";
  });
  if (outcome !== "spent") return outcome;
  await failRun(
    run.id,
    new Error(
      `the import stopped without finishing in each of its ${RUN_OFFER_LIMIT} offers (up to ${RUN_RETRY_LIMIT} tries each): see the worker's log; Run now starts a new run`,
    ),
  );
  return "failed";
}

/** Offers every jobless open run again, or fails it once its offers are spent (the worker's scheduler, every minute). */
export async function reofferJoblessRuns(): Promise<{ offered: string[]; failed: string[] }> {
  const result = { offered: [] as string[], failed: [] as string[] };
  for (const run of await db.$queryRaw<JoblessRun[]>(joblessRuns(Prisma.sql`TRUE`))) {
    const outcome = await reofferRun(run);
    if (outcome) result[outcome].push(run.id);
  }
  if (result.offered.length > 0) logger.warn({ runIds: result.offered }, "open runs without a job offered again");
  if (result.failed.length > 0) logger.error({ runIds: result.failed }, "runs failed: their offers were spent");
  return result;
}
