import { setTimeout as sleep } from "node:timers/promises";
import type { Prisma } from "@/lib/generated/prisma/client";
import { db } from "@/lib/db";
import { collect } from "./collect";
import { defaultDeliveryOptions, deliverPending, type DeliveryOptions } from "./deliver";
import { environmentFromConfig, type PipelineEnvironment } from "./environment";
import { applyPendingSuppressions, heldItemsOfRun, runCounts, type RunCounts } from "./ledger";
import { createRecipientResolver } from "./recipients";
import { consentedTenant, mailboxWriterFor, stagingStoreFor } from "./services";
import { sourceFor } from "./source-for";
import { failedFilesOf } from "./export-files";
import { PAUSED_NOTE, stoppedByPause, unlessPaused } from "./pause-watch";
import { errorText } from "@/lib/errors";

export type RunProgress = {
  phase: "collect" | "import" | "done";
  messagesCollected: number;
  /** Bytes of MIME staged by this process. */
  bytesStaged: number;
  /** Items this process finished (imported or failed). */
  itemsDone: number;
  /** Items done before the import phase, plus those PENDING when it started, plus any found later. */
  itemsTotal: number;
};

export type RunOptions = {
  /** Names this worker in claims (ImportItem.claimedBy); unique per process. */
  workerId: string;
  signal?: AbortSignal;
  onProgress?: (progress: RunProgress) => void;
  /** Called once the collect phase is over: the jobs layer lets other workers help with the import. */
  onCollected?: () => Promise<void>;
  environment?: PipelineEnvironment;
  delivery?: Partial<DeliveryOptions>;
  /** Messages converted and staged at once (default 8). */
  parallelism?: number;
  /** Ledger rows one transaction records at most (default MAX_ITEMS_PER_RECORD). */
  maxItemsPerRecord?: number;
  /** How often the run looks whether its connector was paused (default PAUSE_CHECK_MS). */
  pauseCheckMs?: number;
};

export type RunSummary = {
  runId: string;
  status: "SUCCEEDED" | "PARTIAL" | "FAILED";
  messagesCollected: number;
  counts: RunCounts;
  durationMs: number;
  /** Stopped because an admin paused the connector (PARTIAL, with PAUSED_NOTE). */
  paused?: boolean;
};

const FINISHED = ["SUCCEEDED", "PARTIAL", "FAILED"] as const;

/**
 * One import run: collect (streams since their checkpoints -> staged MIME + ledger rows), then import
 * every PENDING item of the connector. Safe to call again for the same run after a crash, and from
 * several workers at once: every step is idempotent and items are claimed with SKIP LOCKED.
 * Throws on an error that stops the run (it stays RUNNING, with the error, for a retry); see failRun.
 */
export async function runImport(runId: string, options: RunOptions): Promise<RunSummary> {
  const started = Date.now();
  const run = await db.importRun.findUniqueOrThrow({ where: { id: runId }, include: { connector: true } });
  if (isFinished(run.status)) return summaryOf(runId, started);
  // Paused before it started (queued by a Run now that crossed a Pause) or while it runs: it stops,
  // and what it has not done is the first run's after Resume.
  let current = run;
  for (;;) {
    if (current.connector.status === "PAUSED") {
      // Helpers of this run stop too, but end the attempts they have in flight: their items count for it.
      while ((await heldItemsOfRun(runId)) > 0) await sleep(500, undefined, { signal: options.signal });
      return { ...(await finishRun(runId, { paused: true })), durationMs: Date.now() - started };
    }
    const outcome = await unlessPaused(
      run.connectorId,
      { signal: options.signal, everyMs: options.pauseCheckMs },
      (signal) => collectAndImport(current, { ...options, signal }, started),
    );
    if (!outcome.paused) return outcome.result;
    // Resumed while the items in flight ended their attempt: the run goes on instead, with the
    // connector's settings as they are now.
    current = await db.importRun.findUniqueOrThrow({ where: { id: runId }, include: { connector: true } });
  }
}

function anySignal(signal: AbortSignal | undefined, other: AbortSignal): AbortSignal {
  return signal ? AbortSignal.any([signal, other]) : other;
}

type ClaimedRun = Prisma.ImportRunGetPayload<{ include: { connector: true } }>;

async function collectAndImport(run: ClaimedRun, options: RunOptions, started: number): Promise<RunSummary> {
  const runId = run.id;
  const { connector } = run;
  const environment = options.environment ?? environmentFromConfig();
  const progress: RunProgress = {
    phase: "collect",
    messagesCollected: run.messagesCollected,
    bytesStaged: 0,
    itemsDone: 0,
    itemsTotal: 0,
  };
  const report = () => options.onProgress?.({ ...progress });

  await db.importRun.update({ where: { id: runId }, data: { status: "RUNNING", error: null, nextAttemptAt: null } });
  report();
  const writer = mailboxWriterFor(consentedTenant(connector), environment);
  const staging = await stagingStoreFor(environment);
  const mappings =
    connector.mappingMode === "CSV" ? await db.userMapping.findMany({ where: { connectorId: connector.id } }) : [];
  const source = await sourceFor(connector, { runId, staging, symphonyClient: environment.symphonyClient });

  // Items are imported as soon as their page is recorded, while collect goes on: the first land in
  // minutes, and every mailbox's Graph budget (10,000 requests per 10 minutes) starts being used from
  // the run's start, not after a backfill's whole collect.
  let collecting = true;
  const stopImport = new AbortController();
  const stopCollect = new AbortController();
  const signalOr = (stop: AbortController) => anySignal(options.signal, stop.signal);
  /** Whichever of collect and import failed first: that one stops the other, and its error is the run's. */
  let failure: { error: unknown } | undefined;
  const importing = deliverPending(
    {
      connectorId: connector.id,
      runId,
      workerId: options.workerId,
      writer,
      staging,
      options: { ...defaultDeliveryOptions, ...options.delivery },
      signal: signalOr(stopImport),
      onItem: (outcome) => {
        if (outcome === "RETRY") return;
        progress.itemsDone += 1;
        progress.itemsTotal = Math.max(progress.itemsTotal, progress.itemsDone);
        report();
      },
    },
    { untilAllDone: true, collecting: () => collecting },
  ).catch((error: unknown) => {
    failure ??= { error };
    stopCollect.abort();
  });
  try {
    await collect(
      {
        connectorId: connector.id,
        runId,
        staging,
        recipientsOf: createRecipientResolver(writer, {
          mappingMode: connector.mappingMode,
          csv: new Map(mappings.map((row) => [row.symphonyKey.toLowerCase(), row.mailbox])),
          fallbackMailbox: connector.fallbackMailbox,
        }),
        parallelism: options.parallelism ?? 8,
        maxItemsPerRecord: options.maxItemsPerRecord,
        signal: signalOr(stopCollect),
        onMessages: (count, bytes) => {
          progress.messagesCollected += count;
          progress.bytesStaged += bytes;
          report();
        },
      },
      source,
    ).finally(() => source.close());
  } catch (error) {
    failure ??= { error };
    stopImport.abort();
    await importing;
    throw failure.error;
  } finally {
    collecting = false;
  }

  progress.phase = "import";
  try {
    // Suppressions real time read before this run recorded their messages (capture notes them too,
    // while it runs: with real time switched off since, this is the only place).
    await applyPendingSuppressions(connector.id);
    progress.itemsTotal =
      progress.itemsDone + (await db.importItem.count({ where: { connectorId: connector.id, status: "PENDING" } }));
    report();
    await options.onCollected?.();
  } catch (error) {
    // The try ends here: its import must not go on beside the retry.
    stopImport.abort();
    await importing;
    throw error;
  }
  await importing;
  if (failure) throw failure.error;

  const summary = await finishRun(runId);
  progress.phase = "done";
  report();
  return { ...summary, durationMs: Date.now() - started };
}

export type DrainOptions = Pick<RunOptions, "workerId" | "signal" | "environment" | "delivery" | "pauseCheckMs">;

/** True when the run no longer exists (deleting a connector deletes its runs). */
export async function runIsGone(runId: string): Promise<boolean> {
  return (await db.importRun.count({ where: { id: runId } })) === 0;
}

/** Helps with a run's import phase: imports PENDING items of its connector until none is free to take. */
export async function drainRun(runId: string, options: DrainOptions): Promise<void> {
  const run = await db.importRun.findUniqueOrThrow({ where: { id: runId }, include: { connector: true } });
  // A paused connector's helper would claim items before its watch's first look.
  if (isFinished(run.status) || run.connector.status === "PAUSED") return;
  const environment = options.environment ?? environmentFromConfig();
  // Paused: the run itself ends, saying so.
  await unlessPaused(run.connectorId, { signal: options.signal, everyMs: options.pauseCheckMs }, async (signal) =>
    deliverPending(
      {
        connectorId: run.connectorId,
        runId,
        workerId: options.workerId,
        writer: mailboxWriterFor(consentedTenant(run.connector), environment),
        staging: await stagingStoreFor(environment),
        options: { ...defaultDeliveryOptions, ...options.delivery },
        signal,
      },
      { untilAllDone: false },
    ),
  );
}

/**
 * The figures of a real-time capture run while it stays open (all day): its items by status from the
 * ledger's (runId, status) index, so the run history shows what is imported without waiting for the end.
 */
export async function refreshCaptureRunCounts(runId: string): Promise<void> {
  await db.$executeRaw`
    UPDATE "ImportRun" AS run SET
      "itemsImported" = counts.imported, "itemsSkipped" = counts.skipped, "itemsFailed" = counts.failed
    FROM (SELECT count(*) FILTER (WHERE status = 'IMPORTED')::int AS imported,
                 count(*) FILTER (WHERE status = 'SKIPPED')::int AS skipped,
                 count(*) FILTER (WHERE status = 'FAILED')::int AS failed
          FROM "ImportItem" WHERE "runId" = ${runId}::uuid) AS counts
    WHERE run.id = ${runId}::uuid AND run.status = 'RUNNING'`;
}

/** Ends a day's real-time capture run (counts from the ledger); the capture goes on in the next day's run. */
export async function finishCaptureRun(runId: string): Promise<void> {
  await finishRun(runId);
}

/** Ends a run that cannot go on: FAILED with the error (secrets never reach it), counts from the ledger. */
export async function failRun(runId: string, error: unknown): Promise<void> {
  await finishRun(runId, { error: errorText(error).slice(0, 2000) });
}

/**
 * Ends a run: FAILED with `error`; PARTIAL when it was paused, or items or export files failed (the
 * reason given as its error); else SUCCEEDED.
 */
async function finishRun(
  runId: string,
  { error, paused = false }: { error?: string; paused?: boolean } = {},
): Promise<Omit<RunSummary, "durationMs">> {
  const counts = await runCounts(runId);
  const failedFiles = await failedFilesOf(runId);
  const filesNote =
    failedFiles.length > 0
      ? `${failedFiles.length} export file${failedFiles.length === 1 ? "" : "s"} failed and will be tried again next run: ${failedFiles
          .map((file) => `${file.name}: ${file.reason ?? "unknown reason"}`)
          .join("; ")}`.slice(0, 2000)
      : undefined;
  const status = error ? "FAILED" : paused || counts.failed > 0 || filesNote ? "PARTIAL" : "SUCCEEDED";
  error ??= [paused && PAUSED_NOTE, filesNote].filter(Boolean).join(" ").slice(0, 2000) || undefined;
  const finishedAt = new Date();
  const run = await db.importRun.update({
    where: { id: runId },
    data: {
      status,
      error: error ?? null,
      nextAttemptAt: null,
      finishedAt,
      itemsImported: counts.imported,
      itemsSkipped: counts.skipped,
      itemsFailed: counts.failed,
      bytesImported: counts.bytesImported,
    },
  });
  // The schedule's next slot is the scheduler's business: a Run now or a retried run never moves it.
  await db.connector.update({ where: { id: run.connectorId }, data: { lastRunAt: finishedAt } });
  return { runId, status, messagesCollected: run.messagesCollected, counts, ...(paused && { paused }) };
}

async function summaryOf(runId: string, started: number): Promise<RunSummary> {
  const run = await db.importRun.findUniqueOrThrow({ where: { id: runId } });
  return {
    runId,
    status: run.status as RunSummary["status"],
    messagesCollected: run.messagesCollected,
    counts: await runCounts(runId),
    durationMs: Date.now() - started,
    ...(stoppedByPause(run.error) && { paused: true }),
  };
}

function isFinished(status: string): status is (typeof FINISHED)[number] {
  return (FINISHED as readonly string[]).includes(status);
}
