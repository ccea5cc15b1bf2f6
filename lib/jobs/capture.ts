// Real-time capture: one loop per connector that reads the Datahose, across all workers. A worker runs
// a connector's loop while it holds the connector's lease row (CaptureLease), renewed every few seconds;
// a lease its worker stopped renewing (killed, cut off from the database) expires and another worker
// takes it over. Each read's messages are recorded in the ledger in one transaction before the read's
// ackId is sent with the next read, so a batch is acknowledged only once it is safe: a batch read but
// not recorded is delivered again by Symphony, and a batch recorded twice is the same ledger rows.
import type PgBoss from "pg-boss";
import { setTimeout as sleep } from "node:timers/promises";
import { db } from "@/lib/db";
import { Prisma } from "@/lib/generated/prisma/client";
import { errorText } from "@/lib/errors";
import type { logger } from "@/lib/logger";
import {
  capturesRealtime,
  finishCaptureRun,
  openCapture,
  refreshCaptureRunCounts,
  type Capture,
  type CaptureBatch,
  type PipelineEnvironment,
} from "@/lib/pipeline";
import { SymphonyError, type DatahoseRead } from "@/lib/symphony";
import { DRAIN_QUEUE, type ImportJob } from "./definitions";
import {
  defaultHealthSettings,
  diagnoseRunError,
  recordCaptureFailing,
  recordCaptureRecovered,
  recordFailure,
  recordProgress,
  type HealthSettings,
} from "./health";

const NOW = Prisma.sql`(now() AT TIME ZONE 'UTC')`;

/**
 * After an edit of the connector is applied: its capture's lease is taken back, so the capture in
 * progress stops (its next renewal or saved batch finds the lease gone) and one waiting out an error
 * only an admin can fix waits no more; the next scan starts it with the new settings, its series of
 * errors (the earlier settings') ended. With a new sign-in (source kind, pod, agent, key manager,
 * service account, key) it reads without an acknowledgement id: the earlier feed's means nothing there.
 */
export async function releaseCaptureForNewSettings(
  tx: Prisma.TransactionClient,
  connectorId: string,
  { newSignIn }: { newSignIn: boolean },
): Promise<void> {
  await tx.$executeRaw`
    UPDATE "CaptureLease" SET holder = NULL, "expiresAt" = NULL, "updatedAt" = ${NOW},
      error = NULL, "failingSince" = NULL,
      "ackId" = CASE WHEN ${newSignIn}::boolean THEN '' ELSE "ackId" END
    WHERE "connectorId" = ${connectorId}::uuid`;
}

export type CaptureSettings = {
  /** A lease not renewed for this long is taken over by another worker (renewed every third of it). */
  leaseSeconds: number;
  /** How often a worker looks for connectors whose capture nobody runs. */
  scanSeconds: number;
  /** How long a capture stopped by an error only an admin can fix (no Datahose, a refused key) waits before trying again. */
  adminPauseSeconds: number;
  /** Readers of a connector's feed in the worker that holds its capture (each records while another reads). */
  readers: number;
  /** A feed of earlier event types is read until nothing older than the new feed came for this long (drainPreviousFeed). */
  drainSeconds: number;
};

export const defaultCaptureSettings: CaptureSettings = {
  leaseSeconds: 30,
  scanSeconds: 10,
  adminPauseSeconds: 300,
  readers: 2,
  drainSeconds: 90,
};

/** How far the pod's clock may be ahead of this machine's when events are compared with the new feed's opening. */
const CLOCK_MARGIN_MS = 60_000;

/** Backoff between failed reads, as the BDKs' datahose retry: 2 s, times 1.5, at most 10 s, without end. */
function utcDay(date: Date): number {
  return Math.floor(date.getTime() / 86_400_000);
}

function retryDelayMs(failures: number): number {
  return Math.min(10_000, 2_000 * 1.5 ** Math.max(0, failures - 1));
}

/** How often, when reads bring nothing new, the capture looks for captured items left unimported. */
const PENDING_CHECK_MS = 10_000;

/** How often the open capture run's figures (items imported, skipped, failed) are brought up to date. */
const RUN_COUNTS_MS = 15_000;

/**
 * One read of a feed; undefined when the agent refuses its acknowledgement id (400) and `mayDrop` says
 * that id may be dropped: the caller reads on without one, as the BDKs start each process. A read
 * without an ackId, or a second refusal, is the read's error like any other.
 */
function readUnlessRefused(
  source: Capture,
  ackId: string,
  mayDrop: boolean,
  signal: AbortSignal,
  feedTypes?: string,
): Promise<DatahoseRead | undefined> {
  return source.read(ackId, signal, feedTypes).catch((error: unknown) => {
    if (ackId === "" || !mayDrop || !(error instanceof SymphonyError) || error.code !== "bad_request") throw error;
    return undefined;
  });
}

/** The last acknowledgement id, and the event types of the feed it belongs to (CaptureLease). */
type StoredFeed = { ackId: string; feedTypes: string };

/** The holder a paused capture's lease names until it expires. */
const PAUSED = "(paused)";

export function startCaptures(options: {
  workerId: string;
  environment: PipelineEnvironment;
  boss: PgBoss;
  log: typeof logger;
  settings?: Partial<CaptureSettings>;
  /** When errors a retry may cure have gone on long enough to show the connector DEGRADED. */
  health?: HealthSettings;
  /** Tells the admins, once, that a connector's capture stopped on an error only they can fix. */
  onNeedsAttention?: (
    connector: NonNullable<Awaited<ReturnType<typeof recordFailure>>>,
    reason: string,
  ) => Promise<unknown>;
}): { stop(): Promise<void> } {
  const settings = { ...defaultCaptureSettings, ...options.settings };
  const health = { ...defaultHealthSettings, ...options.health };
  const { workerId, log } = options;
  const stopping = new AbortController();
  const running = new Map<string, Promise<void>>();
  const lease = Prisma.sql`${NOW} + make_interval(secs => ${settings.leaseSeconds})`;

  /**
   * Takes the connector's lease if nobody holds it (or its holder let it expire); answers the last ackId
   * and the event types of the feed it belongs to.
   */
  async function acquire(connectorId: string): Promise<StoredFeed | undefined> {
    const rows = await db.$queryRaw<StoredFeed[]>`
      INSERT INTO "CaptureLease" ("connectorId", holder, "expiresAt", "updatedAt")
      VALUES (${connectorId}::uuid, ${workerId}, ${lease}, ${NOW})
      ON CONFLICT ("connectorId") DO UPDATE
        SET holder = EXCLUDED.holder, "expiresAt" = EXCLUDED."expiresAt", "updatedAt" = EXCLUDED."updatedAt"
        WHERE "CaptureLease".holder IS NULL OR "CaptureLease"."expiresAt" IS NULL
          OR "CaptureLease"."expiresAt" < ${NOW} OR "CaptureLease".holder = ${workerId}
      RETURNING "ackId", "feedTypes"`;
    return rows[0];
  }

  /**
   * Renews the lease; false when another worker has it now, or when the connector should not capture
   * any more (paused, deleted, or its source changed in the wizard).
   */
  async function renew(connectorId: string): Promise<boolean> {
    const connector = await db.connector.findUnique({
      where: { id: connectorId },
      select: { status: true, sourceKind: true, realtime: true },
    });
    if (!connector || connector.status !== "ACTIVE" || !capturesRealtime(connector)) return false;
    const renewed = await db.$executeRaw`
      UPDATE "CaptureLease" SET "expiresAt" = ${lease}, "updatedAt" = ${NOW}
      WHERE "connectorId" = ${connectorId}::uuid AND holder = ${workerId}`;
    return renewed > 0;
  }

  /** After a recorded batch: the ackId to send next, and the flyout's figures. False when the lease is lost. */
  async function saveProgress(
    connectorId: string,
    { ackId, feedTypes }: StoredFeed,
    batch: CaptureBatch,
  ): Promise<boolean> {
    const newest = batch.newestAt?.toISOString() ?? null;
    const minuteOver = Prisma.sql`("minuteStartedAt" IS NULL OR "minuteStartedAt" <= ${NOW} - interval '1 minute')`;
    const saved = await db.$executeRaw`
      UPDATE "CaptureLease" SET
        "ackId" = ${ackId}, "feedTypes" = ${feedTypes}, "expiresAt" = ${lease}, "lastReadAt" = ${NOW},
        error = NULL, "failingSince" = NULL,
        "updatedAt" = ${NOW},
        "newestMessageAt" = GREATEST("newestMessageAt", (${newest}::timestamptz AT TIME ZONE 'UTC')),
        "eventsPerMinute" = CASE WHEN ${minuteOver}
          THEN (CASE WHEN "minuteStartedAt" > ${NOW} - interval '2 minutes' THEN "eventsThisMinute" ELSE 0 END)
          ELSE "eventsPerMinute" END,
        "eventsThisMinute" = CASE WHEN ${minuteOver} THEN ${batch.events} ELSE "eventsThisMinute" + ${batch.events} END,
        "minuteStartedAt" = CASE WHEN ${minuteOver} THEN ${NOW} ELSE "minuteStartedAt" END
      WHERE "connectorId" = ${connectorId}::uuid AND holder = ${workerId}`;
    return saved > 0;
  }

  /** Notes why capture is not reading; a series of errors that goes on long enough shows the connector DEGRADED. */
  /** False when this worker no longer holds the lease (taken back, say, by an edit applied meanwhile). */
  async function noteError(connectorId: string, reason: string, pause?: number): Promise<boolean> {
    const rows = await db.$queryRaw<Array<{ failingSince: Date }>>`
      UPDATE "CaptureLease" SET error = ${reason.slice(0, 2000)}, "updatedAt" = ${NOW},
        "failingSince" = COALESCE("failingSince", ${NOW}),
        holder = CASE WHEN ${pause ?? null}::int IS NULL THEN holder ELSE ${PAUSED} END,
        "expiresAt" = CASE WHEN ${pause ?? null}::int IS NULL THEN "expiresAt"
          ELSE ${NOW} + make_interval(secs => ${pause ?? 0}) END
      WHERE "connectorId" = ${connectorId}::uuid AND holder = ${workerId}
      RETURNING "failingSince"`;
    const since = rows[0]?.failingSince;
    if (since && pause === undefined) await recordCaptureFailing(connectorId, reason, since, health);
    return rows.length > 0;
  }

  /** Lets the lease go; a capture stopped on purpose (paused, no longer wanted, shut down) ends its series of errors. */
  async function release(connectorId: string, stopped: boolean): Promise<void> {
    await db.$executeRaw`
      UPDATE "CaptureLease" SET holder = NULL, "expiresAt" = NULL, "updatedAt" = ${NOW},
        "failingSince" = CASE WHEN ${stopped}::boolean THEN NULL ELSE "failingSince" END
      WHERE "connectorId" = ${connectorId}::uuid AND holder = ${workerId}`;
  }

  /**
   * The run captured messages are ledgered under: the connector's real-time run of the current UTC day
   * (trigger CONTINUOUS, RUNNING while capture goes on), which drain jobs import from; an earlier day's
   * is finished first. Scheduled and manual runs do not wait for it (see openRun).
   */
  async function captureRun(connectorId: string): Promise<{ id: string; day: number }> {
    const today = utcDay(new Date());
    const { id, stale } = await db.$transaction(async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${`capture:${connectorId}`}))`;
      const open = await tx.importRun.findMany({
        where: { connectorId, trigger: "CONTINUOUS", status: { in: ["QUEUED", "RUNNING"] } },
        orderBy: { startedAt: "desc" },
        select: { id: true, startedAt: true },
      });
      const current = open.find((run) => utcDay(run.startedAt) === today);
      const stale = open.filter((run) => run !== current).map((run) => run.id);
      if (current) return { id: current.id, stale };
      const run = await tx.importRun.create({
        data: { connectorId, trigger: "CONTINUOUS", status: "RUNNING", requestedBy: "real-time capture" },
      });
      return { id: run.id, stale };
    });
    for (const runId of stale) await finishCaptureRun(runId);
    return { id, day: today };
  }

  /** One helper job imports what the batch added, unless one is already waiting for this run. */
  async function queueImport(job: ImportJob): Promise<void> {
    const waiting = await db.$queryRaw<unknown[]>`
      SELECT 1 FROM pgboss.job
      WHERE name = ${DRAIN_QUEUE} AND state = 'created' AND data->>'runId' = ${job.runId} LIMIT 1`;
    if (waiting.length === 0) await options.boss.insert([{ name: DRAIN_QUEUE, data: job }]);
  }

  /** Items nobody is importing (a killed worker's helper job is not retried before it expires). */
  async function leftPending(connectorId: string): Promise<boolean> {
    const rows = await db.$queryRaw<unknown[]>`
      SELECT 1 FROM "ImportItem"
      WHERE "connectorId" = ${connectorId}::uuid AND status = 'PENDING'
        AND ("claimedUntil" IS NULL OR "claimedUntil" < ${NOW}) LIMIT 1`;
    return rows.length > 0;
  }

  /**
   * After a failed read: an error only an admin can fix is thrown again; any other is noted (a series
   * that lasts shows the connector DEGRADED) and waited out with the BDKs' backoff.
   */
  async function backOff(
    connectorId: string,
    error: unknown,
    failures: number,
    signal: AbortSignal,
    what: string,
  ): Promise<void> {
    const { reason, needsAdmin } = await diagnoseRunError(connectorId, error);
    if (needsAdmin) throw error;
    log.warn({ connectorId, err: errorText(error), failures }, `${what} failed; retrying`);
    await noteError(connectorId, reason).catch(() => {});
    await sleep(retryDelayMs(failures), undefined, { signal }).catch(() => {});
  }

  /**
   * The capture asks for other event types than the stored ackId's feed had (the connector was captured
   * by an earlier version): Symphony keeps that feed apart, with what it holds unacknowledged. The new
   * feed is opened first, so that it holds every event from then on (its first batch is not
   * acknowledged, so it comes again). Then the old feed is read and recorded until no event older than
   * the new feed has come for `drainSeconds` (a batch the earlier worker left unacknowledged comes back
   * only after the visibility timeout, 30 s; on a busy pod the old feed never runs empty, and what it
   * gets after the new feed opened is in the new feed too). An event in both is recorded once (the
   * ledger's keys). Errors a retry may cure are retried here with the reader's backoff. False when the
   * lease was lost meanwhile.
   */
  async function drainPreviousFeed(
    connectorId: string,
    source: Capture,
    stored: StoredFeed,
    runId: () => Promise<string>,
    signal: AbortSignal,
  ): Promise<boolean> {
    log.info({ connectorId, from: stored.feedTypes, to: source.feedTypes }, "draining the previous Datahose feed");
    await source.read("", signal);
    const opened = Date.now();
    /** When an event sent before the new feed opened last came (events without a time count as such). */
    let lastOlder = opened;
    let ackId = stored.ackId;
    let refused = false;
    let failures = 0;
    while (Date.now() - lastOlder < settings.drainSeconds * 1000) {
      try {
        const read = await readUnlessRefused(source, ackId, !refused, signal, stored.feedTypes);
        if (!read) {
          // The agent no longer knows the ackId (as in reader below): read that feed on without it.
          log.warn({ connectorId }, "the Datahose refused the previous feed's acknowledgement id; reading without it");
          refused = true;
          ackId = "";
          continue;
        }
        if (ackId !== "") refused = false;
        failures = 0;
        if (read.events.some((event) => (event.timestamp ?? 0) < opened + CLOCK_MARGIN_MS)) lastOlder = Date.now();
        if (read.events.length > 0) {
          const batch = await source.record(read.events, await runId(), signal);
          if (batch.added > 0) await queueImport({ runId: await runId(), connectorId });
          // Acknowledged by the next read only once recorded: a batch whose recording failed comes again.
          ackId = read.ackId ?? ackId;
          if (!(await saveProgress(connectorId, { ackId, feedTypes: stored.feedTypes }, batch))) return false;
        } else {
          ackId = read.ackId ?? ackId;
        }
      } catch (error) {
        if (signal.aborted) throw error;
        failures += 1;
        await backOff(connectorId, error, failures, signal, "reading the previous Datahose feed");
        lastOlder = Date.now(); // the quiet time counts from reads that worked
      }
    }
    log.info({ connectorId, feedTypes: source.feedTypes }, "the previous Datahose feed is drained");
    const none: CaptureBatch = { events: 0, messages: 0, added: 0, newestAt: null, suppressed: 0 };
    return saveProgress(connectorId, { ackId: "", feedTypes: source.feedTypes }, none);
  }

  async function capture(connectorId: string, stored: StoredFeed): Promise<void> {
    const held = new AbortController();
    const signal = AbortSignal.any([stopping.signal, held.signal]);
    const renewal = setInterval(
      () =>
        void renew(connectorId)
          .then((ok) => {
            if (!ok) held.abort(new Error("lease lost or capture no longer wanted"));
          })
          // The database is away: the lease may expire meanwhile; saveProgress tells when it is lost.
          .catch(() => {}),
      (settings.leaseSeconds * 1000) / 3,
    );
    let paused = false;
    let lastPendingCheck = 0;
    let lastCounts = Date.now();
    try {
      const source = await openCapture(connectorId, { environment: options.environment });
      let run = await captureRun(connectorId);
      log.info({ connectorId, runId: run.id, tag: source.tag, readers: settings.readers }, "real-time capture started");
      const currentRunId = async () => {
        if (utcDay(new Date()) !== run.day) run = await captureRun(connectorId);
        return run.id;
      };
      let firstAckId = stored.ackId;
      if (firstAckId !== "" && stored.feedTypes !== source.feedTypes) {
        if (!(await drainPreviousFeed(connectorId, source, stored, currentRunId, signal))) return;
        firstAckId = "";
      }
      let readOnce = false;
      const siblings = new AbortController();
      const reading = AbortSignal.any([signal, siblings.signal]);
      /** One reader of the connector's feed: read, record, and acknowledge with the next read. */
      const reader = async (firstAck: string) => {
        let ackId = firstAck;
        let failures = 0;
        /** The ackId was dropped after a refusal, and no acknowledgement has been accepted since. */
        let dropped = false;
        while (!reading.aborted) {
          try {
            const runId = await currentRunId();
            const read = await readUnlessRefused(source, ackId, !dropped, reading);
            if (!read) {
              // The agent refused the acknowledgement id (kept from before a pause or a restart, or from a
              // feed it has since dropped): read again without one, as the BDKs start each process. Its
              // batch, already recorded, may come again, which the ledger's keys make harmless.
              log.warn({ connectorId }, "the Datahose refused the acknowledgement id; reading without it");
              ackId = "";
              dropped = true;
              continue;
            }
            // An acknowledgement accepted: a later refusal may be dropped again. (After a read without one,
            // an agent that refuses the ackId it just handed out goes the normal way: backoff and health.)
            if (ackId !== "") dropped = false;
            const batch = await source.record(read.events, runId, reading);
            if (
              batch.added > 0 ||
              (Date.now() - lastPendingCheck > PENDING_CHECK_MS && (await leftPending(connectorId)))
            ) {
              lastPendingCheck = Date.now();
              await queueImport({ runId, connectorId });
            }
            ackId = read.ackId ?? ackId;
            if (!(await saveProgress(connectorId, { ackId, feedTypes: source.feedTypes }, batch))) {
              held.abort(new Error("lease lost")); // another worker captures now
              return;
            }
            if (batch.added > 0 && failures > 0) await recordProgress(connectorId);
            // The first batch of a capture, or one after errors: a DEGRADED that capture's errors (this
            // capture's, or an earlier one's that could not open the feed) caused is over.
            if (failures > 0 || !readOnce) {
              readOnce = true;
              await recordCaptureRecovered(connectorId);
            }
            if (Date.now() - lastCounts > RUN_COUNTS_MS) {
              lastCounts = Date.now();
              await refreshCaptureRunCounts(runId);
            }
            failures = 0;
          } catch (error) {
            if (reading.aborted) return;
            failures += 1;
            await backOff(connectorId, error, failures, reading, "real-time capture read");
          }
        }
      };
      // Several readers share the feed, as the instances of one bot do (same tag): while one records its
      // batch, the next is read. Only the first carries the lease's ackId; the others start a chain of
      // their own (a batch nobody acknowledged is delivered again, which the ledger's keys make harmless).
      const results = await Promise.allSettled(
        Array.from({ length: settings.readers }, (_, slot) =>
          reader(slot === 0 ? firstAckId : "").catch((error: unknown) => {
            siblings.abort(error); // one reader met an error only an admin can fix: the others stop too
            throw error;
          }),
        ),
      );
      const failed = results.find((result) => result.status === "rejected");
      if (failed) throw failed.reason;
    } catch (error) {
      if (signal.aborted) return;
      const { reason, needsAdmin } = await diagnoseRunError(connectorId, error);
      log.error({ connectorId, err: errorText(error), reason }, "real-time capture stopped");
      if (needsAdmin) {
        paused = true;
        // With the lease taken back meanwhile (an edit applied), the error was the earlier settings'.
        if (!(await noteError(connectorId, reason, settings.adminPauseSeconds).catch(() => true))) return;
        const entered = await recordFailure(connectorId, reason, true).catch(() => null);
        if (entered) {
          log.warn({ connectorId, reason }, "connector needs attention");
          await options.onNeedsAttention?.(entered, reason).catch(() => {});
        }
      } else {
        await noteError(connectorId, reason).catch(() => {});
      }
    } finally {
      clearInterval(renewal);
      if (!paused) await release(connectorId, signal.aborted).catch(() => {});
    }
  }

  async function scan(): Promise<void> {
    const connectors = await db.connector.findMany({
      where: { status: "ACTIVE", OR: [{ sourceKind: "DATAHOSE" }, { sourceKind: "CONTENT_EXPORT", realtime: true }] },
      select: { id: true },
    });
    for (const { id } of connectors) {
      if (running.has(id) || stopping.signal.aborted) continue;
      const stored = await acquire(id);
      if (stored === undefined) continue;
      running.set(
        id,
        capture(id, stored).finally(() => running.delete(id)),
      );
    }
  }

  const scanning = (async () => {
    while (!stopping.signal.aborted) {
      await scan().catch((error: unknown) => log.warn({ err: errorText(error) }, "real-time capture scan failed"));
      await sleep(settings.scanSeconds * 1000, undefined, { signal: stopping.signal }).catch(() => {});
    }
  })();

  return {
    async stop() {
      stopping.abort();
      await scanning;
      await Promise.all(running.values());
    },
  };
}
