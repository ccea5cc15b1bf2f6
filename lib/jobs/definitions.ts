import { z } from "zod";

// Each queue with the payload its jobs carry. Payloads are parsed where a job runs: a row in
// pg-boss's table is input like any other.
export const importJobSchema = z.object({ runId: z.uuid(), connectorId: z.uuid() });
export type ImportJob = z.infer<typeof importJobSchema>;

export const IMPORT_QUEUE = "connector-import";
/** Helpers for a run's import phase: any idle worker takes one and imports PENDING items. */
export const DRAIN_QUEUE = "connector-import-drain";
export const SCHEDULER_QUEUE = "connector-scheduler";
export const RETENTION_QUEUE = "staging-retention";

export const JOB_QUEUES = [IMPORT_QUEUE, DRAIN_QUEUE, SCHEDULER_QUEUE, RETENTION_QUEUE] as const;

/** The job's payload, or why it is not one: a malformed job fails by itself, never the worker. */
export function parseImportJob(data: unknown): { ok: true; job: ImportJob } | { ok: false; error: string } {
  const parsed = importJobSchema.safeParse(data);
  return parsed.success ? { ok: true, job: parsed.data } : { ok: false, error: z.prettifyError(parsed.error) };
}
