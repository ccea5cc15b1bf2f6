import { setTimeout as sleep } from "node:timers/promises";
import {
  GraphRequestError,
  M365AuthError,
  MAILBOX_NOT_FOUND,
  MailboxUnavailableError,
  type MailboxWriter,
} from "@/lib/m365";
import type { ImportItem } from "@/lib/m365";
import type { StagingStore } from "@/lib/staging";
import { claimItems, countDuplicatesRemoved, extendClaims, pendingItems, type ClaimedItem } from "./ledger";
import { createOutcomeWriter, type OutcomeWriter } from "./outcome-writer";
import { importItemFor, itemKey, stagedKey } from "./staged-item";
import { errorMessage } from "@/lib/errors";
import { cachedLoad } from "@/lib/async";

export type DeliveryOptions = {
  /** Items claimed at once; they are imported concurrently (the Graph scheduler paces each mailbox). */
  batchSize: number;
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
  batchSize: 32,
  claimSeconds: 60,
  maxAttempts: 5,
  maxRetryDelaySeconds: 30,
  attemptTimeoutSeconds: 1800,
};

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
 * over those whose claim expires: when it returns, no item of the connector is PENDING.
 */
export async function deliverPending(ctx: DeliveryContext, { untilAllDone }: { untilAllDone: boolean }): Promise<void> {
  const outcomes = createOutcomeWriter({ maxItems: 64, maxDelayMs: 20 });
  for (;;) {
    ctx.signal?.throwIfAborted();
    const batch = await claimItems({
      connectorId: ctx.connectorId,
      runId: ctx.runId,
      workerId: ctx.workerId,
      limit: ctx.options.batchSize,
      claimSeconds: ctx.options.claimSeconds,
    });
    if (batch.length > 0) {
      await deliverBatch(ctx, batch, outcomes);
      continue;
    }
    if (!untilAllDone) return;
    const pending = await pendingItems(ctx.connectorId);
    if (pending.total === 0) return;
    await sleep(500, undefined, { signal: ctx.signal });
  }
}

async function deliverBatch(ctx: DeliveryContext, batch: ClaimedItem[], outcomes: OutcomeWriter) {
  const inFlight = new Set(batch.map((item) => item.id));
  const renew = setInterval(
    () => void extendClaims(ctx.workerId, [...inFlight], ctx.options.claimSeconds).catch(() => {}),
    (ctx.options.claimSeconds * 1000) / 3,
  );
  // The items of one message (one per mailbox) are claimed together: its entry is read once.
  const parsed = new Map<string, Promise<ImportItem>>();
  try {
    const results = await Promise.allSettled(
      batch.map(async (item) => {
        try {
          await deliverItem(ctx, item, parsed, outcomes);
        } finally {
          inFlight.delete(item.id);
        }
      }),
    );
    // Without a token nothing can be imported: stop the run instead of failing every item.
    const authFailure = results.find(
      (r): r is PromiseRejectedResult => r.status === "rejected" && r.reason instanceof M365AuthError,
    );
    if (authFailure) throw authFailure.reason;
    const other = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (other) throw other.reason;
  } finally {
    clearInterval(renew);
  }
}

async function deliverItem(
  ctx: DeliveryContext,
  item: ClaimedItem,
  parsed: Map<string, Promise<ImportItem>>,
  outcomes: OutcomeWriter,
): Promise<void> {
  const key = itemKey(ctx.connectorId, item.messageId);
  let userId: string | undefined;
  let noMailbox = `no Microsoft 365 mailbox for ${item.mailbox}`;
  const deadline = new AbortController();
  try {
    await withTimeout(ctx.options.attemptTimeoutSeconds, deadline, async () => {
      const owner = await ctx.writer.resolveMailbox(item.mailbox);
      if (!owner.found) {
        // A user without a mailbox (unlicensed, on-premises, guest) says so; retrying will not help.
        if (owner.reason !== MAILBOX_NOT_FOUND) noMailbox = owner.reason;
        return;
      }
      userId = owner.userId;
      const folderId = await ctx.writer.ensureSymphonyFolder(owner.userId);
      const importItem = await cachedLoad(parsed, stagedKey(item), () => importItemFor(ctx.staging, key, item));
      const result = await ctx.writer.importMessage(owner.userId, folderId, importItem, {
        firstAttempt: item.attempts === 1,
        signal: deadline.signal,
      });
      await outcomes.record({
        id: item.id,
        status: "IMPORTED",
        graphMessageId: result.graphMessageId,
        ...(result.duplicatesRemoved > 0 ? { reason: DUPLICATE_REMOVED } : {}),
      });
      await countDuplicatesRemoved(ctx.runId, result.duplicatesRemoved);
    });
    if (!userId) {
      await outcomes.record({ id: item.id, status: "FAILED", reason: noMailbox });
      ctx.onItem?.("FAILED", item);
      return;
    }
    ctx.onItem?.("IMPORTED", item);
  } catch (error) {
    if (error instanceof M365AuthError) {
      await outcomes.record({
        id: item.id,
        status: "PENDING",
        reason: error.message,
        retryDelaySeconds: 0,
        attemptFailed: false,
      });
      throw error;
    }
    const reason = errorMessage(error);
    const failures = item.failures + 1;
    if (isPermanent(error) || failures >= ctx.options.maxAttempts) {
      // The message may exist without all its attachments: the ledger then points at it.
      const created = userId ? await ctx.writer.findByKey(userId, key).catch(() => undefined) : undefined;
      const detail = [
        item.attempts > 1 ? `after ${item.attempts} attempts` : "",
        created ? "the message is in the mailbox, possibly without all its attachments" : "",
      ];
      const suffix = detail.filter(Boolean).join("; ");
      await outcomes.record({
        id: item.id,
        status: "FAILED",
        reason: suffix ? `${reason} (${suffix})` : reason,
        graphMessageId: created,
      });
      ctx.onItem?.("FAILED", item);
    } else {
      await outcomes.record({
        id: item.id,
        status: "PENDING",
        reason,
        retryDelaySeconds: Math.min(ctx.options.maxRetryDelaySeconds, 2 ** failures),
        attemptFailed: true,
      });
      ctx.onItem?.("RETRY", item);
    }
  }
}

/** `work`'s result, or an AttemptTimeoutError after `seconds` (then `deadline` is aborted; the work is left behind). */
async function withTimeout<T>(seconds: number, deadline: AbortController, work: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new AttemptTimeoutError(`the attempt did not finish within ${seconds} s`);
      deadline.abort(error);
      reject(error);
    }, seconds * 1000);
  });
  try {
    return await Promise.race([work(), expired]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A Graph refusal that trying again will not change (400, 403, 413...; a mailbox outside the access
 * policy, without a mailbox, full, or an item over its size limit); a bare 404 may be a folder deleted meanwhile.
 */
function isPermanent(error: unknown): boolean {
  return (
    error instanceof MailboxUnavailableError ||
    (error instanceof GraphRequestError &&
      error.status >= 400 &&
      error.status < 500 &&
      ![404, 408, 409, 429].includes(error.status))
  );
}
