import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import type PgBoss from "pg-boss";
import { config } from "@/lib/config";
import { logger } from "@/lib/logger";
import { errorText } from "@/lib/errors";
import { notifyNeedsAttention, notifySettingsFromConfig, type NotifySettings } from "@/lib/notify";
import {
  consentRetryDelay,
  defaultConsentWait,
  drainRun,
  environmentFromConfig,
  failRun,
  purgeStagedItems,
  runImport,
  runIsGone,
  type ConsentWait,
  type DeliveryOptions,
  type PipelineEnvironment,
} from "@/lib/pipeline";
import { startBoss } from "./boss";
import { startCaptures, type CaptureSettings } from "./capture";
import {
  DRAIN_QUEUE,
  IMPORT_QUEUE,
  parseImportJob,
  RETENTION_QUEUE,
  SCHEDULER_QUEUE,
  type ImportJob,
} from "./definitions";
import { defaultRunJobRecovery, expireUnrenewedJobs, keepJobAlive, type RunJobRecovery } from "./heartbeat";
import { reofferJoblessRuns } from "./request";
import { enqueueDueImports } from "./schedule";
import {
  defaultHealthSettings,
  diagnoseRunError,
  recordFailure,
  recordProgress,
  recordRetry,
  recordSuccess,
  recordWait,
  type HealthSettings,
} from "./health";

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
  /** How the first run after admin consent waits for Microsoft 365 to apply it (default: 15 minutes, 15 s backoff up to 2 min). */
  consentWait?: Partial<ConsentWait>;
  /** When persisting errors make a connector DEGRADED (default: after 10 minutes). */
  health?: Partial<HealthSettings>;
  /** Where admins are told that a connector needs attention (default: NOTIFY_* of the configuration). */
  notify?: NotifySettings;
  /** Real-time capture (Datahose) lease and scan intervals; false: this worker runs no capture loop. */
  capture?: Partial<CaptureSettings> | false;
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
  const consentWait = { ...defaultConsentWait, ...options.consentWait };
  const health = { ...defaultHealthSettings, ...options.health };
  const notify = options.notify ?? notifySettingsFromConfig(environment.m365);
  /** Health bookkeeping never decides a job's fate: a failure of its own is logged. */
  const noting = (what: string, note: () => Promise<unknown>) =>
    note().catch((error: unknown) => log.warn({ err: errorText(error) }, `connector health not recorded (${what})`));
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
    // The first message collected or item finished by this try ends any series of failed tries.
    let progressed = false;
    let collectedAtStart: number | undefined;
    try {
      const summary = await runImport(runId, {
        ...common,
        onProgress: (progress) => {
          collectedAtStart ??= progress.messagesCollected;
          if (progressed || (progress.messagesCollected === collectedAtStart && progress.itemsDone === 0)) return;
          progressed = true;
          void noting("progress", () => recordProgress(connectorId));
        },
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
      if (summary.status !== "FAILED" && !summary.paused)
        await noting("run finished", () => recordSuccess(connectorId));
    } catch (error) {
      if (stopping.signal.aborted) throw error; // another worker resumes the run
      if (await runIsGone(runId)) {
        // Its connector was deleted (the run went with it): nothing is left to import or to retry.
        log.info({ runId }, "run no longer exists (its connector was deleted); job ended");
        return;
      }
      const outOfRetries = job.retryCount >= job.retryLimit;
      // Right after admin consent, "no consent" is Microsoft 365 still applying it: the run waits.
      const consentDelay = outOfRetries
        ? undefined
        : await consentRetryDelay(runId, error, job.retryCount, consentWait);
      if (consentDelay !== undefined) {
        log.warn({ runId, retryInSeconds: consentDelay }, "admin consent not applied yet; the run waits for it");
        await release(consentDelay);
        await noting("consent wait", () => recordWait(runId, secondsFromNow(consentDelay)));
        throw error;
      }
      const { reason, needsAdmin } = await diagnoseRunError(connectorId, error);
      const last = outOfRetries || needsAdmin;
      log.error({ runId, err: errorText(error), reason, willRetry: !last }, "import run stopped");
      if (!last) {
        const nextAttemptAt = secondsFromNow(recovery.retryDelaySeconds);
        await noting("retry", () => recordRetry({ id: runId, connectorId }, reason, nextAttemptAt, health));
        throw error;
      }
      await failRun(runId, reason);
      const entered = await recordFailure(connectorId, reason, needsAdmin).catch((failure: unknown) => {
        log.warn({ err: errorText(failure) }, "connector health not recorded (run failed)");
        return null;
      });
      if (entered) {
        log.warn({ connectorId, reason }, "connector needs attention");
        await notifyNeedsAttention(notify, { connector: entered, reason, since: entered.healthSince ?? new Date() });
      }
    } finally {
      void release();
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
    await reofferJoblessRuns();
  });
  await boss.schedule(RETENTION_QUEUE, "17 3 * * *");
  await boss.work(RETENTION_QUEUE, async () => {
    const days = options.retentionDays ?? config().STAGING_RETENTION_DAYS;
    const removed = await purgeStagedItems(environment, days);
    log.info({ removed, days }, "staged items purged");
  });
  const captures =
    options.capture === false
      ? undefined
      : startCaptures({
          workerId,
          environment,
          boss,
          log,
          settings: options.capture,
          health,
          onNeedsAttention: (connector, reason) =>
            notifyNeedsAttention(notify, { connector, reason, since: connector.healthSince ?? new Date() }),
        });
  const unrenewed = setInterval(
    () =>
      void expireUnrenewedJobs(boss, IMPORT_QUEUE, recovery).then(
        (count) => count > 0 && log.warn({ count }, "run jobs of a worker that died as it took them offered again"),
        (error: unknown) => log.warn({ err: errorText(error) }, "run jobs not checked for a dead worker"),
      ),
    Math.max(1000, recovery.expireSeconds * 500),
  );
  log.info({ concurrency: options.concurrency }, "worker started");

  return {
    workerId,
    async stop() {
      stopping.abort();
      clearInterval(unrenewed);
      await captures?.stop();
      await boss.stop({ graceful: true, wait: true, timeout: 30_000 });
      log.info("worker stopped");
    },
  };
}

function secondsFromNow(seconds: number): Date {
  return new Date(Date.now() + seconds * 1000);
}
