import { db } from "@/lib/db";
import { IMPORT_QUEUE, jobQueue, type ImportJob } from "@/lib/jobs/boss";

export interface ImportRequest {
  connectorId: string;
  trigger: "MANUAL" | "SCHEDULE" | "CONTINUOUS";
  requestedBy?: string;
}

/**
 * Queues an import run for a connector, or returns the run already queued or running:
 * a connector never has two runs at once.
 */
export async function requestImport(request: ImportRequest): Promise<{ runId: string; alreadyQueued: boolean }> {
  const { run, created } = await db.$transaction(async (tx) => {
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
  if (created) {
    const job: ImportJob = { runId: run.id, connectorId: request.connectorId };
    await (await jobQueue()).send(IMPORT_QUEUE, job, { retryLimit: 5, retryDelay: 30, retryBackoff: true });
  }
  return { runId: run.id, alreadyQueued: !created };
}
