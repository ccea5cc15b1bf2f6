import { db } from "@/lib/db";
import type { ImportRun } from "@/lib/generated/prisma/client";
import { IMPORT_QUEUE, jobQueue, type ImportJob } from "@/lib/jobs/boss";
import { IMPORT_JOB_EXPIRE_SECONDS } from "@/lib/jobs/heartbeat";

export interface ImportRequest {
  connectorId: string;
  trigger: "MANUAL" | "SCHEDULE" | "CONTINUOUS";
  requestedBy?: string;
}

/**
 * The connector's run that is queued or running, or a new QUEUED run: a connector never has two
 * runs at once (an advisory lock serialises concurrent requests).
 */
export async function openRun(request: ImportRequest): Promise<{ run: ImportRun; created: boolean }> {
  return db.$transaction(async (tx) => {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${`import:${request.connectorId}`}))`;
    const active = await tx.importRun.findFirst({
      where: { connectorId: request.connectorId, status: { in: ["QUEUED", "RUNNING"] } },
      orderBy: { startedAt: "desc" },
    });
    if (active) return { run: active, created: false };
    const run = await tx.importRun.create({
      data: { connectorId: request.connectorId, trigger: request.trigger, requestedBy: request.requestedBy },
    });
    return { run, created: true };
  });
}

/**
 * Queues an import run for a connector, or returns the run already queued or running.
 */
export async function requestImport(request: ImportRequest): Promise<{ runId: string; alreadyQueued: boolean }> {
  const { run, created } = await openRun(request);
  if (created) {
    const job: ImportJob = { runId: run.id, connectorId: request.connectorId };
    await (await jobQueue()).send(IMPORT_QUEUE, job, {
      retryLimit: 5,
      retryDelay: 30,
      retryBackoff: true,
      // The worker renews the job while it runs (heartbeat.ts): a killed worker's run is retried soon.
      expireInSeconds: IMPORT_JOB_EXPIRE_SECONDS,
    });
  }
  return { runId: run.id, alreadyQueued: !created };
}
