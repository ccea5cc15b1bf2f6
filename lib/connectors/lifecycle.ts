// Dashboard actions on a finished connector: run now, retry failed items, pause, resume, delete. Each
// one leaves an audit event.
import { recordAudit, type AuditAction } from "@/lib/audit";
import { db } from "@/lib/db";
import type { ConnectorStatus, Prisma } from "@/lib/generated/prisma/client";
import { requestImport } from "@/lib/jobs";
import { failedWhileImporting } from "@/lib/pipeline";
import { ConnectorNotFound } from "./draft";
import { nextSlotAfter } from "@/lib/next-run";

async function statusOf(connectorId: string) {
  const connector = await db.connector.findUnique({
    where: { id: connectorId },
    select: { status: true, name: true, scheduleIntervalMinutes: true, nextRunAt: true },
  });
  if (!connector) throw new ConnectorNotFound("This connector no longer exists.");
  return connector;
}

export type LifecycleResult = { ok: true; runId?: string; retried?: number } | { ok: false; message: string };

export async function runNow(connectorId: string, actor: string): Promise<LifecycleResult> {
  const { status } = await statusOf(connectorId);
  if (status === "DRAFT") return { ok: false, message: "Finish the setup wizard before running an import." };
  if (status === "PAUSED") return { ok: false, message: "Resume the connector before running an import." };
  const { runId, alreadyQueued } = await requestImport({ connectorId, trigger: "MANUAL", requestedBy: actor });
  if (!alreadyQueued) await recordAudit({ connectorId, actor, action: "import.requested", detail: { runId } });
  return { ok: true, runId };
}

/**
 * Gives the items that failed while being imported into Microsoft 365 (a mailbox outside the access
 * policy's or role assignment's scope, without a licence, full; Graph's errors past every retry) a new
 * run, once their cause may have been fixed: a failed item is otherwise never tried again. A retried
 * item looks its message up by key first (its earlier attempts counted), so a copy an earlier attempt
 * left is completed, never doubled. Items that failed before any attempt (a message Symphony could not
 * give, or that the connector could not read) stay as they are: nothing would change.
 */
export async function retryFailedItems(connectorId: string, actor: string): Promise<LifecycleResult> {
  const { status } = await statusOf(connectorId);
  if (status === "DRAFT") return { ok: false, message: "Finish the setup wizard before retrying items." };
  if (status === "PAUSED") return { ok: false, message: "Resume the connector before retrying its failed items." };
  const retried = await reopenFailedItems(connectorId, actor);
  if (retried === 0)
    return {
      ok: false,
      message:
        "No item failed while being imported into Microsoft 365. The failed items are messages Symphony could not give or the connector could not read; the status log says why for each.",
    };
  const { runId } = await requestImport({ connectorId, trigger: "MANUAL", requestedBy: actor });
  return { ok: true, runId, retried };
}

const RETRYABLE = failedWhileImporting('"ImportItem"');

/** How many of the connector's items Retry failed items would take (counted up to 100,000). */
export async function countRetryableItems(connectorId: string): Promise<number> {
  const [row] = await db.$queryRaw<Array<{ items: number }>>`
    SELECT count(*)::int AS items FROM (
      SELECT 1 FROM "ImportItem" WHERE "connectorId" = ${connectorId}::uuid AND ${RETRYABLE} LIMIT 100000
    ) AS retryable`;
  return row?.items ?? 0;
}

/** The ledger half of retryFailedItems: its failed items back to PENDING, audited; how many. */
export async function reopenFailedItems(connectorId: string, actor: string): Promise<number> {
  return db.$transaction(async (tx) => {
    const items = await tx.$executeRaw`
      UPDATE "ImportItem"
      SET status = 'PENDING', failures = 0, reason = NULL, "claimedBy" = NULL, "claimedUntil" = NULL,
        "updatedAt" = (now() AT TIME ZONE 'UTC')
      WHERE "connectorId" = ${connectorId}::uuid AND ${RETRYABLE}`;
    if (items > 0) await recordAudit({ connectorId, actor, action: "items.retried", detail: { items } }, tx);
    return items;
  });
}

/**
 * Stops the connector's imports: no run starts, and a run in progress stops reading Symphony and taking
 * items within seconds (its items in flight end their attempt; the rest wait for the first run after
 * Resume).
 */
export async function pauseConnector(connectorId: string, actor: string): Promise<LifecycleResult> {
  await statusOf(connectorId);
  return changeStatus(connectorId, actor, {
    from: ["ACTIVE", "ERROR"],
    to: { status: "PAUSED" },
    action: "connector.paused",
    refusal: "Only an active connector can be paused.",
  });
}

export async function resumeConnector(connectorId: string, actor: string): Promise<LifecycleResult> {
  const { scheduleIntervalMinutes, nextRunAt } = await statusOf(connectorId);
  return changeStatus(connectorId, actor, {
    from: ["PAUSED"],
    to: { status: "ACTIVE", nextRunAt: nextSlotAfter(nextRunAt, new Date(), scheduleIntervalMinutes) },
    action: "connector.resumed",
    refusal: "Only a paused connector can be resumed.",
  });
}

/**
 * Changes the status only from one of `from`, in one statement: of two admins at once, one changes
 * it, and one audit event says so.
 */
async function changeStatus(
  connectorId: string,
  actor: string,
  change: {
    from: ConnectorStatus[];
    to: Prisma.ConnectorUpdateManyMutationInput;
    action: AuditAction;
    refusal: string;
  },
): Promise<LifecycleResult> {
  const changed = await db.$transaction(async (tx) => {
    const { count } = await tx.connector.updateMany({
      where: { id: connectorId, status: { in: change.from } },
      data: change.to,
    });
    if (count === 1) await recordAudit({ connectorId, actor, action: change.action }, tx);
    return count === 1;
  });
  return changed ? { ok: true } : { ok: false, message: change.refusal };
}

/** Deletes the connector and its ledger; the audit trail (connectorId kept) survives it. */
export async function deleteConnector(connectorId: string, actor: string): Promise<LifecycleResult> {
  const { name } = await statusOf(connectorId);
  await db.$transaction(async (tx) => {
    await tx.connector.delete({ where: { id: connectorId } });
    await recordAudit({ connectorId, actor, action: "connector.deleted", detail: { name } }, tx);
  });
  return { ok: true };
}
