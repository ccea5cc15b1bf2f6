import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import type PgBoss from "pg-boss";
import { config } from "@/lib/config";
import { logger } from "@/lib/logger";
import { errorText } from "@/lib/errors";
import { M365AuthError } from "@/lib/m365";
import { SftpError, type SftpErrorCode } from "@/lib/content-export";
import {
  drainRun,
  environmentFromConfig,
  failRun,
  purgeStagedItems,
  runImport,
  runIsGone,
  RunSetupError,
  type DeliveryOptions,
  type PipelineEnvironment,
} from "@/lib/pipeline";
import { SymphonyError } from "@/lib/symphony";
import { startBoss } from "./boss";
import {
  DRAIN_QUEUE,
  IMPORT_QUEUE,
  parseImportJob,
  RETENTION_QUEUE,
  SCHEDULER_QUEUE,
  type ImportJob,
} from "./definitions";
import { defaultRunJobRecovery, keepJobAlive, type RunJobRecovery } from "./heartbeat";
import { enqueueDueImports } from "./schedule";

export type WorkerOptions = {
  /** Import jobs (runs or helpers) this process works on at once. */
  concurrency: number;
  /** Names the worker in item claims; default host-pid-random. */
  workerId?: string;
  /** Helper jobs queued when a run's collect phase ends (any idle worker takes them). */
  helpersPerRun?: number;
  environment?: PipelineEnvironment;
  delivery?: Partial<DeliveryOptions>;
  /** How often pg-boss looks for expired jobs (a killed worker's run); default 30 s. */
  maintenanceIntervalSeconds?: number;
  /** Days staged blobs are kept; default STAGING_RETENTION_DAYS. */
  retentionDays?: number;
  /** Expiry and retry delay of the run jobs this worker takes (default 120 s and 30 s). */
  recovery?: Partial<RunJobRecovery>;
};

export type Worker = { workerId: string; stop(): Promise<void> };

/**
 * Consumes import runs and helper jobs, queues due runs every minute and purges old staged blobs daily.
 * Any number of workers may share a database: a run's items are claimed with SKIP LOCKED, and a
 * killed worker's run is retried (pg-boss expiry) and resumes where it stopped.
 */
export async function startWorker(options: WorkerOptions): Promise<Worker> {
  const workerId = options.workerId ?? `${hostname()}-${process.pid}-${randomBytes(3).toString("hex")}`;
  const environment = options.environment ?? environmentFromConfig();
  const stopping = new AbortController();
  const log = logger.child({ workerId });
  const boss = await startBoss({ maintenanceIntervalSeconds: options.maintenanceIntervalSeconds ?? 30 });
  const recovery = { ...defaultRunJobRecovery, ...options.recovery };
  const common = { workerId, signal: stopping.signal, environment, delivery: options.delivery };

  /**
   * The job's payload. A malformed one is cancelled (pg-boss would retry a failed job, and no retry can
   * fix a payload) and logged with why; it never reaches the pipeline.
   */
  const payloadOf = async (queue: string, job: PgBoss.Job<unknown>): Promise<ImportJob | undefined> => {
    const parsed = parseImportJob(job.data);
    if (parsed.ok) return parsed.job;
    log.error({ queue, jobId: job.id, err: parsed.error }, "malformed job dropped");
    await boss.cancel(queue, job.id);
    return undefined;
  };

  const runJob = async ([job]: PgBoss.JobWithMetadata<unknown>[]) => {
    if (!job) return;
    const payload = await payloadOf(IMPORT_QUEUE, job);
    if (!payload) return;
    const { runId, connectorId } = payload;
    const release = keepJobAlive(boss, IMPORT_QUEUE, job.id, recovery);
    try {
      const summary = await runImport(runId, {
        ...common,
        onCollected: async () => {
          const helpers = Array.from({ length: options.helpersPerRun ?? 4 }, () => ({
            name: DRAIN_QUEUE,
            data: { runId, connectorId },
          }));
          await boss.insert(helpers);
        },
      });
      log.info(
        { runId, status: summary.status, counts: summary.counts, messages: summary.messagesCollected },
        "import run finished",
      );
    } catch (error) {
      if (stopping.signal.aborted) throw error; // another worker resumes the run
      if (await runIsGone(runId)) {
        // Its connector was deleted (the run went with it): nothing is left to import or to retry.
        log.info({ runId }, "run no longer exists (its connector was deleted); job ended");
        return;
      }
      const hopeless = needsAnAdministrator(error);
      const last = hopeless || job.retryCount >= job.retryLimit;
      log.error({ runId, err: errorText(error), willRetry: !last }, "import run stopped");
      if (!last) throw error;
      await failRun(runId, error);
    } finally {
      release();
    }
  };

  const drainJob = async ([job]: PgBoss.Job<unknown>[]) => {
    const payload = job && (await payloadOf(DRAIN_QUEUE, job));
    if (!payload) return;
    try {
      await drainRun(payload.runId, common);
    } catch (error) {
      if (!stopping.signal.aborted && (await runIsGone(payload.runId))) return;
      throw error;
    }
  };

  for (let i = 0; i < options.concurrency; i++) {
    await boss.work(IMPORT_QUEUE, { batchSize: 1, includeMetadata: true, pollingIntervalSeconds: 1 }, runJob);
    await boss.work(DRAIN_QUEUE, { batchSize: 1, pollingIntervalSeconds: 1 }, drainJob);
  }

  await boss.schedule(SCHEDULER_QUEUE, "* * * * *");
  await boss.work(SCHEDULER_QUEUE, async () => {
    const queued = await enqueueDueImports();
    if (queued.length > 0) log.info({ queued }, "scheduled imports queued");
  });
  await boss.schedule(RETENTION_QUEUE, "17 3 * * *");
  await boss.work(RETENTION_QUEUE, async () => {
    const days = options.retentionDays ?? config().STAGING_RETENTION_DAYS;
    const removed = await purgeStagedItems(environment, days);
    log.info({ removed, days }, "staged items purged");
  });
  log.info({ concurrency: options.concurrency }, "worker started");

  return {
    workerId,
    async stop() {
      stopping.abort();
      await boss.stop({ graceful: true, wait: true, timeout: 30_000 });
      log.info("worker stopped");
    },
  };
}

const SFTP_SETTINGS_TO_FIX: SftpErrorCode[] = [
  "invalid_settings",
  "blocked_host",
  "host_key_unconfirmed",
  "host_key_mismatch",
  "auth_rejected",
  "not_found",
  "permission_denied",
];

/** Errors that no retry fixes: missing consent or credentials, a rejected bot key, incomplete settings. */
function needsAnAdministrator(error: unknown): boolean {
  if (error instanceof M365AuthError || error instanceof RunSetupError) return true;
  if (error instanceof SftpError) return SFTP_SETTINGS_TO_FIX.includes(error.code);
  return error instanceof SymphonyError && ["auth_rejected", "forbidden"].includes(error.code);
}
