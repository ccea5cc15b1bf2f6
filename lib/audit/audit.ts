// Who changed what, when. Written in the same transaction as the change it describes.
import { db } from "@/lib/db";
import type { Prisma } from "@/lib/generated/prisma/client";

export type AuditAction =
  | "connector.terms_accepted"
  | "connector.named"
  | "connector.source_saved"
  | "connector.sftp_host_key_confirmed"
  | "connector.mapping_saved"
  | "connector.consent_requested"
  | "connector.consent_granted"
  | "connector.consent_refused"
  | "connector.finished"
  | "connector.updated"
  | "connector.edit_discarded"
  | "connector.paused"
  | "connector.resumed"
  | "connector.deleted"
  | "import.requested"
  | "items.retried";

export interface AuditEntry {
  connectorId: string | null;
  actor: string;
  action: AuditAction;
  /** Never a secret: callers pass names of changed fields and counts, not values of keys. */
  detail?: Prisma.InputJsonValue;
}

type Writer = Pick<Prisma.TransactionClient, "auditEvent">;

export async function recordAudit(entry: AuditEntry, writer: Writer = db): Promise<void> {
  await writer.auditEvent.create({ data: { ...entry, detail: entry.detail ?? undefined } });
}

export async function listAudit(connectorId: string, take = 50) {
  return db.auditEvent.findMany({ where: { connectorId }, orderBy: { at: "desc" }, take });
}

export type AuditRow = Awaited<ReturnType<typeof listAudit>>[number];
