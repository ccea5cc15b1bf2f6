// Dashboard actions on a finished connector: run now, pause, resume, delete. Each one leaves an audit event.
import { recordAudit } from "@/lib/audit";
import { db } from "@/lib/db";
import { requestImport } from "@/lib/jobs";
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

export type LifecycleResult = { ok: true; runId?: string } | { ok: false; message: string };

export async function runNow(connectorId: string, actor: string): Promise<LifecycleResult> {
  const { status } = await statusOf(connectorId);
  if (status === "DRAFT") return { ok: false, message: "Finish the setup wizard before running an import." };
  if (status === "PAUSED") return { ok: false, message: "Resume the connector before running an import." };
  const { runId, alreadyQueued } = await requestImport({ connectorId, trigger: "MANUAL", requestedBy: actor });
  if (!alreadyQueued) await recordAudit({ connectorId, actor, action: "import.requested", detail: { runId } });
  return { ok: true, runId };
}

export async function pauseConnector(connectorId: string, actor: string): Promise<LifecycleResult> {
  const { status } = await statusOf(connectorId);
  if (status !== "ACTIVE" && status !== "ERROR")
    return { ok: false, message: "Only an active connector can be paused." };
  await db.$transaction(async (tx) => {
    await tx.connector.update({ where: { id: connectorId }, data: { status: "PAUSED" } });
    await recordAudit({ connectorId, actor, action: "connector.paused" }, tx);
  });
  return { ok: true };
}

export async function resumeConnector(connectorId: string, actor: string): Promise<LifecycleResult> {
  const { status, scheduleIntervalMinutes, nextRunAt } = await statusOf(connectorId);
  if (status !== "PAUSED") return { ok: false, message: "Only a paused connector can be resumed." };
  await db.$transaction(async (tx) => {
    await tx.connector.update({
      where: { id: connectorId },
      data: { status: "ACTIVE", nextRunAt: nextSlotAfter(nextRunAt, new Date(), scheduleIntervalMinutes) },
    });
    await recordAudit({ connectorId, actor, action: "connector.resumed" }, tx);
  });
  return { ok: true };
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
