import { db } from "@/lib/db";
import type { ImportRun } from "@/lib/generated/prisma/client";
import { jobQueue } from "./boss";
import { IMPORT_QUEUE, type ImportJob } from "./definitions";
import { defaultRunJobRecovery, RUN_JOB_TIMEOUT_SECONDS } from "./heartbeat";

export interface ImportRequest {
  connectorId: string;
  trigger: "MANUAL" | "SCHEDULE" | "SETUP";
  requestedBy?: string;
}

/**
 * The connector's run that is queued or running, or a new QUEUED run: a connector never has two
 * runs at once (an advisory lock serialises concurrent requests). The real-time capture's own run
 * (CONTINUOUS, open while capture goes on) is not one of them: the daily export still runs beside it.
 */
export async function openRun(request: ImportRequest): Promise<{ run: ImportRun; created: boolean }> {
  return db.$transaction(async (tx) => {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${`import:${request.connectorId}`}))`;
    const active = await tx.importRun.findFirst({
      where: {
        connectorId: request.connectorId,
        status: { in: ["QUEUED", "RUNNING"] },
        trigger: { not: "CONTINUOUS" },
      },
      orderBy: { startedAt: "desc" },
    });
    if (active) return { run: active, created: false };
    const run = await tx.importRun.create({
      data: { connectorId: request.connectorId, trigger: request.trigger, requestedBy: request.requestedBy },
    });
    return { run, created: true };
  });
}

/** Offers of one run job before its run is FAILED: with the default retry delay, about an hour of outage. */
export const RUN_RETRY_LIMIT = 120;

/**
 * Queues an import run for a connector, or returns the run already queued or running.
 */
export async function requestImport(request: ImportRequest): Promise<{ runId: string; alreadyQueued: boolean }> {
  const { run, created } = await openRun(request);
  if (created) {
    const job: ImportJob = { runId: run.id, connectorId: request.connectorId };
    await (
      await jobQueue()
    ).send(IMPORT_QUEUE, job, {
      // A run resumes where it stopped, so it may be retried many times (killed workers, outages);
      // errors that need an administrator fail it at once (see the worker). The worker holding the
      // job sets its expiry and retry delay and renews it while it runs (heartbeat.ts).
      retryLimit: RUN_RETRY_LIMIT,
      retryDelay: defaultRunJobRecovery.retryDelaySeconds,
      expireInSeconds: RUN_JOB_TIMEOUT_SECONDS,
    });
  }
  return { runId: run.id, alreadyQueued: !created };
}
