import { setTimeout as sleep } from "node:timers/promises";
import {
  GraphRequestError,
  GraphRetriesExhaustedError,
  M365AuthError,
  MAILBOX_NOT_FOUND,
  MailboxUnavailableError,
  type MailboxWriter,
} from "@/lib/m365";
import type { ImportItem } from "@/lib/m365";
import { StagedItemMissingError, type StagingStore } from "@/lib/staging";
import {
  claimItems,
  countDuplicatesRemoved,
  extendClaims,
  pendingItems,
  pendingMailboxes,
  oldestPending,
  type AttemptOutcome,
  type ClaimArgs,
  type ClaimedItem,
} from "./ledger";
import { createOutcomeWriter, type OutcomeWriter } from "./outcome-writer";
import { importItemFor, itemKey, stagedKey } from "./staged-item";
import { errorMessage } from "@/lib/errors";
import { createSharedLoads, refreshedInBackground, type Lease } from "@/lib/async";
import { ClaimLostError, InFlight } from "./in-flight";

export type DeliveryOptions = {
  /** Items imported at once (the Graph scheduler paces each mailbox); more are claimed as they end. */
  batchSize: number;
  /**
   * Items of one mailbox imported at once: Graph takes 4 requests at a time per mailbox, and the
   * rest of the batch goes to other mailboxes.
   */
  perMailbox: number;
  /** How long a claim lasts without renewal: a killed worker's items are free again after it. */
  claimSeconds: number;
  /**
   * Failed attempts per item before it is FAILED. An attempt cut short by a stopped worker (killed,
   * restarted, deployed) is not a failure: it never ended, and it says nothing about the item.
   */
  maxAttempts: number;
  /** Longest delay before a transiently failed item is tried again. */
  maxRetryDelaySeconds: number;
  /**
   * Longest one attempt may take (a 150 MB upload included). A hung attempt (a connection that died
   * without an error) would otherwise keep its claim renewed, and the run waiting, forever.
   */
  attemptTimeoutSeconds: number;
};

export const defaultDeliveryOptions: DeliveryOptions = {
  batchSize: 64,
  perMailbox: 4,
  claimSeconds: 60,
  maxAttempts: 5,
  maxRetryDelaySeconds: 30,
  attemptTimeoutSeconds: 1800,
};

/**
 * An item in flight this long no longer counts against `batchSize` (see in-flight.ts), up to
 * `PARKED_LIMIT` times `batchSize` items in flight in all.
 */
const PARKED_AFTER_MS = 2000;
const PARKED_LIMIT = 4;

/**
 * Mailboxes with this many items waiting are imported first (claimItems' `busiest`): at Graph's
 * budget of 10,000 requests per 10 minutes per mailbox, 1,000 items take a mailbox a minute or more
 * whatever else the run does. Unless this worker is collecting, claims probe each mailbox with items
 * left instead of walking the backlog once there are at most `allUpTo` (claimItems' `pendingMailboxes`).
 * Counted again every MAILBOXES_EVERY_MS.
 */
const MAILBOXES = { minItems: 1000, limit: 8, allUpTo: 64 };
const MAILBOXES_EVERY_MS = 10_000;
/**
 * The count reads every pending item: with 3.8 million (a 1,000,000-message backfill) it took 0.66 s
 * on three processes, 1.35 s of CPU, a seventh of a core every 10 s. It waits 100 times as long as it
 * took (66 s there; at the end of a run, with few items left, the 10 s above).
 */
const MAILBOXES_BUSY_SHARE = 0.01;

/** The status log's note on an item whose retried create had landed twice. */
const DUPLICATE_REMOVED =
  "a second copy, left by a create that timed out but went through before its retry, was deleted";

class AttemptTimeoutError extends Error {
  override name = "AttemptTimeoutError";
}

export type DeliveryContext = {
  connectorId: string;
  runId: string;
  workerId: string;
  writer: MailboxWriter;
  staging: StagingStore;
  options: DeliveryOptions;
  signal?: AbortSignal;
  onItem?: (outcome: "IMPORTED" | "FAILED" | "RETRY", item: ClaimedItem) => void;
};

/**
 * Imports the connector's PENDING items until none is left that this worker may take. With
 * `untilAllDone`, it also waits for items other workers hold or that wait for a retry, and takes
 * over those whose claim expires: when it returns, no item of the connector is PENDING. While
 * `collecting` says so, more items are on their way: it waits for them instead of returning.
 *
 * Up to `batchSize` items are in flight (more while some are parked), at most `perMailbox` of one
 * mailbox; as items end, more are claimed, so one slow mailbox never holds the others back. The
 * busiest mailboxes' items are claimed first, so that their Graph budgets are used from the start.
 */
export async function deliverPending(
  ctx: DeliveryContext,
  { untilAllDone, collecting }: { untilAllDone: boolean; collecting?: () => boolean },
): Promise<void> {
  const { batchSize, perMailbox, claimSeconds } = ctx.options;
  const outcomes = createOutcomeWriter(ctx.workerId, { maxItems: 64, maxDelayMs: 20 });
  const flight = new InFlight({
    renew: (ids) => extendClaims(ctx.workerId, ids, claimSeconds),
    claimMs: claimSeconds * 1000,
    everyMs: (claimSeconds * 1000) / 3,
  });
  // The items of one message (one per mailbox) are claimed together: its entry is read once.
  const parsed = createSharedLoads<ImportItem>();
  // A claim costs PostgreSQL about 2 ms however few items it takes (its plan, and its walk past the
  // items of mailboxes at their limit), so it waits until half the batch has room, not a quarter.
  const refillAt = Math.max(1, Math.floor(batchSize / 2));
  const mailboxes = refreshedInBackground(() => pendingMailboxes(ctx.connectorId, MAILBOXES), {
    everyMs: MAILBOXES_EVERY_MS,
    busyShare: MAILBOXES_BUSY_SHARE,
    initial: { busiest: [] as string[], all: null as string[] | null },
  });
  const oldest = refreshedInBackground(
    () => {
      const { busiest, all } = mailboxes.current();
      return oldestPending(ctx.connectorId, [...new Set([...busiest, ...(all ?? [])])]);
    },
    { everyMs: MAILBOXES_EVERY_MS, initial: { oldest: null, byMailbox: new Map<string, bigint>() } },
  );
  // Narrowed by what was read a while ago (see the loop); without it the claim walks the whole backlog.
  const claim = (limit: number, narrowed: Pick<ClaimArgs, "pendingMailboxes" | "from" | "mailboxFrom"> = {}) =>
    claimItems({
      connectorId: ctx.connectorId,
      runId: ctx.runId,
      workerId: ctx.workerId,
      limit,
      perMailbox,
      held: flight.held,
      claimSeconds,
      // While collect goes on, the items it recorded last: their bundle was just written (and kept
      // in memory), and the mailboxes whose conversations come late in the run (often the busiest,
      // which Graph's per-mailbox budget holds to 16 items a second) start at once, not after
      // everything recorded before them.
      newestFirst: collecting?.() ?? false,
      busiest: mailboxes.current().busiest,
      ...narrowed,
    });
  try {
    while (flight.errors.length === 0) {
      ctx.signal?.throwIfAborted();
      const room = Math.min(batchSize - flight.active(PARKED_AFTER_MS), PARKED_LIMIT * batchSize - flight.size);
      if (room >= refillAt) {
        // Mailboxes are probed from their oldest PENDING item; unless collecting, the claim probes the
        // few mailboxes with items left, or walks from the connector's oldest PENDING item. All were read
        // a while ago, maybe before items another worker recorded since: with nothing in flight, nothing
        // claimed must mean nothing left, so the claim then walks the whole backlog from its start.
        // While collecting, the worker waits instead of returning, and the next read finds what this one
        // missed: no walk again.
        const { oldest: from, byMailbox: mailboxFrom } = oldest.current();
        const isCollecting = collecting?.() ?? false;
        const narrowed = isCollecting
          ? { mailboxFrom }
          : { mailboxFrom, pendingMailboxes: mailboxes.current().all ?? undefined, from };
        let claimedAt = performance.now();
        let claimed = await claim(room, narrowed);
        if (claimed.length === 0 && flight.size === 0 && !isCollecting) {
          claimedAt = performance.now();
          claimed = await claim(room);
        }
        for (const item of claimed) {
          flight.start(item, claimedAt, async (claimLost) => {
            const entry = parsed.lease(stagedKey(item));
            try {
              await deliverItem(ctx, item, entry, outcomes, claimLost);
            } finally {
              entry.release();
            }
          });
        }
        // Items may have ended during the claim: while claims find work, fill the room they left.
        if (claimed.length > 0) continue;
      }
      if (flight.size > 0) {
        await flight.next(1000);
        continue;
      }
      if (!collecting?.()) {
        if (!untilAllDone) break;
        const pending = await pendingItems(ctx.connectorId);
        if (pending.total === 0) break;
      }
      await sleep(500, undefined, { signal: ctx.signal });
    }
  } finally {
    await flight.close();
    await mailboxes.close();
    await oldest.close();
  }
  // Without a token nothing can be imported: stop the run instead of failing every item.
  const failure = flight.errors.find((error) => error instanceof M365AuthError) ?? flight.errors[0];
  if (failure !== undefined) throw failure;
}

async function deliverItem(
  ctx: DeliveryContext,
  item: ClaimedItem,
  parsed: Lease<ImportItem>,
  outcomes: OutcomeWriter,
  claimLost: AbortSignal,
): Promise<void> {
  const key = itemKey(ctx.connectorId, item.messageId);
  const record = (outcome: AttemptOutcome) => outcomes.record({ ...outcome, id: item.id, attempt: item.attempts });
  let userId: string | undefined;
  let noMailbox = `no Microsoft 365 mailbox for ${item.mailbox}`;
  const deadline = new AbortController();
  const startedAt = Date.now();
  try {
    await withinAttempt(ctx.options.attemptTimeoutSeconds, claimLost, deadline, async () => {
      const owner = await ctx.writer.resolveMailbox(item.mailbox);
      if (!owner.found) {
        // A user without a mailbox (unlicensed, on-premises, guest) says so; retrying will not help.
        if (owner.reason !== MAILBOX_NOT_FOUND) noMailbox = owner.reason;
        return;
      }
      userId = owner.userId;
      const folderId = await ctx.writer.ensureSymphonyFolder(owner.userId);
      const importItem = await parsed.load(() => importItemFor(ctx.staging, key, item));
      const result = await ctx.writer.importMessage(owner.userId, folderId, importItem, {
        firstAttempt: item.attempts === 1,
        signal: deadline.signal,
      });
      await record({
        status: "IMPORTED",
        graphMessageId: result.graphMessageId,
        ...(result.duplicatesRemoved > 0 || importItem.note
          ? { reason: [result.duplicatesRemoved > 0 && DUPLICATE_REMOVED, importItem.note].filter(Boolean).join("; ") }
          : {}),
      });
      await countDuplicatesRemoved(ctx.runId, result.duplicatesRemoved);
    });
    if (!userId) {
      await record({ status: "FAILED", reason: noMailbox });
      ctx.onItem?.("FAILED", item);
      return;
    }
    ctx.onItem?.("IMPORTED", item);
  } catch (error) {
    // The claim lapses (or has lapsed) unrenewed: the item is another worker's to take, and its outcome
    // theirs to write; this attempt, cut short by the database, does not count as a failure.
    if (error instanceof ClaimLostError) return;
    if (error instanceof M365AuthError) {
      await record({ status: "PENDING", reason: error.message, retryDelaySeconds: 0, attemptFailed: false });
      throw error;
    }
    const reason = errorMessage(error);
    if (
      (error instanceof GraphRetriesExhaustedError && error.lastStatus === 429) ||
      (error instanceof AttemptTimeoutError && userId !== undefined && ctx.writer.throttledSince(userId, startedAt))
    ) {
      // Throttled past every retry, or out of time while the mailbox was throttled (other worker
      // processes spending its budget, long Retry-Afters): that says nothing about the item, so it waits
      // and is tried again, however often; never FAILED for it.
      await record({
        status: "PENDING",
        reason: `Microsoft 365 is throttling this mailbox (${reason}); the item waits and is tried again`,
        retryDelaySeconds: ctx.options.maxRetryDelaySeconds,
        attemptFailed: false,
      });
      ctx.onItem?.("RETRY", item);
      return;
    }
    const failures = item.failures + 1;
    if (isPermanent(error) || failures >= ctx.options.maxAttempts) {
      // The message may exist without all its attachments: the ledger then points at it.
      const created = userId ? await ctx.writer.findByKey(userId, key).catch(() => undefined) : undefined;
      const detail = [
        attemptsNote(item.attempts, failures),
        created ? "the message is in the mailbox, possibly without all its attachments" : "",
      ];
      const suffix = detail.filter(Boolean).join("; ");
      await record({ status: "FAILED", reason: suffix ? `${reason} (${suffix})` : reason, graphMessageId: created });
      ctx.onItem?.("FAILED", item);
    } else {
      await record({
        status: "PENDING",
        reason,
        retryDelaySeconds: Math.min(ctx.options.maxRetryDelaySeconds, 2 ** failures),
        attemptFailed: true,
      });
      ctx.onItem?.("RETRY", item);
    }
  }
}

/**
 * `work`'s result, or an AttemptTimeoutError after `seconds`, or the ClaimLostError `claimLost` aborts
 * with; either aborts `deadline`, and the work is left behind (it stops at its next check of the signal).
 */
async function withinAttempt<T>(
  seconds: number,
  claimLost: AbortSignal,
  deadline: AbortController,
  work: () => Promise<T>,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let onClaimLost: (() => void) | undefined;
  const stopped = new Promise<never>((_, reject) => {
    const stop = (error: Error) => {
      deadline.abort(error);
      reject(error);
    };
    timer = setTimeout(
      () => stop(new AttemptTimeoutError(`the attempt did not finish within ${seconds} s`)),
      seconds * 1000,
    );
    onClaimLost = () =>
      stop(claimLost.reason instanceof Error ? claimLost.reason : new ClaimLostError("its claim was lost"));
    if (claimLost.aborted) onClaimLost();
    else claimLost.addEventListener("abort", onClaimLost, { once: true });
  });
  try {
    return await Promise.race([work(), stopped]);
  } finally {
    clearTimeout(timer);
    if (onClaimLost) claimLost.removeEventListener("abort", onClaimLost);
  }
}

/**
 * A Graph refusal that trying again will not change (400, 403, 413...; a mailbox outside the access
 * policy, without a mailbox, full, or an item over its size limit); a bare 404 may be a folder deleted meanwhile.
 */
function isPermanent(error: unknown): boolean {
  return (
    error instanceof MailboxUnavailableError ||
    error instanceof StagedItemMissingError ||
    (error instanceof GraphRequestError &&
      error.status >= 400 &&
      error.status < 500 &&
      ![404, 408, 409, 429].includes(error.status))
  );
}

/** How often a FAILED item was tried: throttled and cut-short attempts are made but do not count as failed. */
function attemptsNote(attempts: number, failures: number): string {
  if (attempts <= 1) return "";
  if (attempts <= failures) return `after ${attempts} failed attempts`;
  return `after ${attempts} attempts, ${failures} of them failed (the others waited for throttling or were cut short)`;
}
