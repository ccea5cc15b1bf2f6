import { setTimeout as sleep } from "node:timers/promises";
import type { GraphContext } from "@/lib/m365/context";
import { GraphRequestError, M365AuthError } from "@/lib/m365/errors";
import { findOrCreateSymphonyFolder, lookUpMailbox } from "@/lib/m365/mailbox";
import { importMessage } from "@/lib/m365/message";
import type { StagingStore } from "@/lib/staging";
import { claimItems, extendClaims, markFailed, markForRetry, markImported, pendingItems, type ClaimedItem } from "./ledger";
import { itemKey, stagedImportItem } from "./staged-item";

export type DeliveryOptions = {
  /** Items claimed at once; they are imported concurrently (the Graph scheduler paces each mailbox). */
  batchSize: number;
  /** How long a claim lasts without renewal: a killed worker's items are free again after it. */
  claimSeconds: number;
  /** Attempts per item before it is FAILED. */
  maxAttempts: number;
  /** Longest delay before a transiently failed item is tried again. */
  maxRetryDelaySeconds: number;
};

export const defaultDeliveryOptions: DeliveryOptions = { batchSize: 32, claimSeconds: 60, maxAttempts: 5, maxRetryDelaySeconds: 30 };

export type DeliveryContext = {
  connectorId: string;
  runId: string;
  workerId: string;
  graph: GraphContext;
  staging: StagingStore;
  options: DeliveryOptions;
  signal?: AbortSignal;
  onItem?: (outcome: "IMPORTED" | "FAILED" | "RETRY", item: ClaimedItem) => void;
};

type Target = { userId: string; folderId: string };

/**
 * Imports the connector's PENDING items until none is left that this worker may take. With
 * `untilAllDone`, it also waits for items other workers hold or that wait for a retry, and takes
 * over those whose claim expires: when it returns, no item of the connector is PENDING.
 */
export async function deliverPending(ctx: DeliveryContext, { untilAllDone }: { untilAllDone: boolean }): Promise<void> {
  const targets = new Map<string, Promise<Target>>();
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
      await deliverBatch(ctx, targets, batch);
      continue;
    }
    if (!untilAllDone) return;
    const pending = await pendingItems(ctx.connectorId);
    if (pending.total === 0) return;
    await sleep(500, undefined, { signal: ctx.signal });
  }
}

async function deliverBatch(ctx: DeliveryContext, targets: Map<string, Promise<Target>>, batch: ClaimedItem[]) {
  const inFlight = new Set(batch.map((item) => item.id));
  const renew = setInterval(
    () => void extendClaims(ctx.workerId, [...inFlight], ctx.options.claimSeconds).catch(() => {}),
    (ctx.options.claimSeconds * 1000) / 3,
  );
  try {
    const results = await Promise.allSettled(
      batch.map(async (item) => {
        try {
          await deliverItem(ctx, targets, item);
        } finally {
          inFlight.delete(item.id);
        }
      }),
    );
    // Without a token nothing can be imported: stop the run instead of failing every item.
    const authFailure = results.find((r): r is PromiseRejectedResult => r.status === "rejected" && r.reason instanceof M365AuthError);
    if (authFailure) throw authFailure.reason;
    const other = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (other) throw other.reason;
  } finally {
    clearInterval(renew);
  }
}

async function deliverItem(ctx: DeliveryContext, targets: Map<string, Promise<Target>>, item: ClaimedItem): Promise<void> {
  try {
    const target = await targetOf(ctx, targets, item.mailbox);
    if (!target) {
      await markFailed(item.id, `no Microsoft 365 mailbox for ${item.mailbox}`);
      ctx.onItem?.("FAILED", item);
      return;
    }
    const importItem = await stagedImportItem(itemKey(ctx.connectorId, item.messageId), () => ctx.staging.open(item.blobName));
    const result = await importMessage(ctx.graph, target.userId, target.folderId, importItem, { firstAttempt: item.attempts === 1 });
    await markImported(item.id, result.graphMessageId);
    ctx.onItem?.("IMPORTED", item);
  } catch (error) {
    targets.delete(item.mailbox);
    if (error instanceof M365AuthError) {
      await markForRetry(item.id, 0, error.message);
      throw error;
    }
    const reason = describe(error);
    if (isPermanent(error) || item.attempts >= ctx.options.maxAttempts) {
      await markFailed(item.id, item.attempts > 1 ? `${reason} (after ${item.attempts} attempts)` : reason);
      ctx.onItem?.("FAILED", item);
    } else {
      await markForRetry(item.id, Math.min(ctx.options.maxRetryDelaySeconds, 2 ** item.attempts), reason);
      ctx.onItem?.("RETRY", item);
    }
  }
}

/** The mailbox's user and Inbox/Symphony folder, looked up once per drain; undefined when no such mailbox. */
function targetOf(ctx: DeliveryContext, targets: Map<string, Promise<Target>>, mailbox: string): Promise<Target | undefined> {
  let target = targets.get(mailbox);
  if (!target) {
    target = (async () => {
      const found = await lookUpMailbox(ctx.graph, mailbox);
      if (!found.found) throw new MailboxNotFound();
      return { userId: found.userId, folderId: await findOrCreateSymphonyFolder(ctx.graph, found.userId) };
    })();
    targets.set(mailbox, target);
  }
  return target.catch((error: unknown) => {
    if (error instanceof MailboxNotFound) return undefined;
    throw error;
  });
}

class MailboxNotFound extends Error {}

/** A Graph refusal that trying again will not change (400, 403, 413...); 404 may be a folder deleted meanwhile. */
function isPermanent(error: unknown): boolean {
  return error instanceof GraphRequestError && error.status >= 400 && error.status < 500 && ![404, 408, 409, 429].includes(error.status);
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
