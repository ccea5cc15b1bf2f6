// Chain of custody for Content Export: per source file, what it carried and what became of it, read
// from the file ledger and the item ledger in one query so the figures are the ledger's own.
import { z } from "zod";
import { db } from "@/lib/db";
import { Prisma } from "@/lib/generated/prisma/client";
import { csvLine } from "./csv";
import { startDownloadOf } from "./status-log";

export type ExportFileReport = {
  id: bigint;
  name: string;
  status: string;
  format: string | null;
  jobType: string | null;
  periodStart: Date | null;
  periodEnd: Date | null;
  sizeBytes: bigint | null;
  sha256: string | null;
  verifiedBy: string[];
  conversations: number | null;
  messagesInFile: number | null;
  messagesLedgered: number;
  items: { imported: number; skipped: number; failed: number; pending: number };
  reason: string | null;
  attempts: number;
  updatedAt: Date;
  /** The run that last worked on the file. */
  runId: string | null;
  /** Parsed but the ledger holds a different number of its messages. */
  mismatch: boolean;
  /**
   * With real-time capture beside the export: messages of the file sent while capture ran that the
   * Datahose had not brought (the file brought them first, and they were imported from it). Null otherwise.
   */
  missedByRealtime: number | null;
};

type Row = Omit<ExportFileReport, "verifiedBy" | "messagesLedgered" | "items" | "mismatch" | "missedByRealtime"> & {
  verifiedBy: string[] | null;
  messagesLedgered: bigint;
  missedByRealtime: bigint;
  realtime: boolean;
  imported: bigint;
  skipped: bigint;
  failed: bigint;
  pending: bigint;
};

/** The connector's export files, newest content first (optionally those one run worked on). */
export async function exportFileReports(connectorId: string, options: { runId?: string; take?: number } = {}) {
  const rows = await db.$queryRaw<Row[]>`
    SELECT f.id, f.name, f.status::text AS status, f.format, f."jobType", f."periodStart", f."periodEnd",
           f."sizeBytes", f.sha256, f."verifiedBy", f.conversations, f."messagesInFile", f.reason,
           f.attempts, f."updatedAt", f."runId"::text AS "runId",
           (SELECT count(*) FROM "ExportFileMessage" l WHERE l."exportFileId" = f.id) AS "messagesLedgered",
           (SELECT count(*) FROM "SourceMessage" m
             WHERE m."exportFileId" = f.id AND m."attachedTo" IS NULL
               AND m."sentAt" >= (${CAPTURE_START})) AS "missedByRealtime",
           (c."sourceKind" = 'CONTENT_EXPORT' AND c.realtime) AS realtime,
           count(i.id) FILTER (WHERE i.status = 'IMPORTED') AS imported,
           count(i.id) FILTER (WHERE i.status = 'SKIPPED') AS skipped,
           count(i.id) FILTER (WHERE i.status = 'FAILED') AS failed,
           count(i.id) FILTER (WHERE i.status = 'PENDING') AS pending
    FROM "ExportFile" f
    JOIN "Connector" c ON c.id = f."connectorId"
    LEFT JOIN "ExportFileMessage" l ON l."exportFileId" = f.id
    LEFT JOIN "ImportItem" i ON i."sourceMessageId" = l."sourceMessageId"
    WHERE f."connectorId" = ${connectorId}::uuid
      AND (${options.runId ?? null}::uuid IS NULL OR f."runId" = ${options.runId ?? null}::uuid)
    GROUP BY f.id, c.id
    ORDER BY f."periodStart" DESC NULLS LAST, f.id DESC
    LIMIT ${options.take ?? 10_000}`;
  return rows.map(({ realtime, ...row }): ExportFileReport => ({
    ...row,
    missedByRealtime: realtime ? Number(row.missedByRealtime) : null,
    verifiedBy: row.verifiedBy ?? [],
    messagesLedgered: Number(row.messagesLedgered),
    items: {
      imported: Number(row.imported),
      skipped: Number(row.skipped),
      failed: Number(row.failed),
      pending: Number(row.pending),
    },
    mismatch:
      (row.status === "DONE" || row.status === "PARSED") &&
      row.messagesInFile !== null &&
      row.messagesInFile !== Number(row.messagesLedgered),
  }));
}

export const RECONCILIATION_HEADER = [
  "file",
  "status",
  "format",
  "job_type",
  "period_start",
  "period_end",
  "size_bytes",
  "sha256",
  "hash_verified",
  "conversations",
  "messages_in_file",
  "messages_ledgered",
  "missed_by_realtime",
  "items_imported",
  "items_skipped",
  "items_failed",
  "items_pending",
  "flag",
  "reason",
];

/** The reconciliation report as CSV: one line per export file; a file whose counts disagree is flagged. */
export async function reconciliationCsv(connectorId: string): Promise<string> {
  const reports = await exportFileReports(connectorId);
  return [
    csvLine(RECONCILIATION_HEADER),
    ...reports.map((file) =>
      csvLine([
        file.name,
        file.status,
        file.format,
        file.jobType,
        file.periodStart?.toISOString() ?? null,
        file.periodEnd?.toISOString() ?? null,
        file.sizeBytes,
        file.sha256,
        file.verifiedBy.length > 0 ? `yes (${file.verifiedBy.join(", ")})` : "no",
        file.conversations,
        file.messagesInFile,
        file.messagesLedgered,
        file.missedByRealtime,
        file.items.imported,
        file.items.skipped,
        file.items.failed,
        file.items.pending,
        file.mismatch ? "MESSAGES IN FILE != MESSAGES LEDGERED" : "",
        file.reason,
      ]),
    ),
  ].join("");
}

/** When the connector's real-time capture began: its first capture run (none: never, and nothing counts as missed). */
const CAPTURE_START = Prisma.sql`SELECT min(r."startedAt") FROM "ImportRun" r
  WHERE r."connectorId" = f."connectorId" AND r.trigger = 'CONTINUOUS'`;

export type RealtimeMiss = { file: string; messageId: string; conversationId: string; sentAt: Date };

/**
 * Messages the export had that real-time capture had not brought, sent while capture ran: the ones the
 * export's own file ledgered first (and imported). Datahose promises no exactly-once delivery, so a few
 * are expected; the export is the record. A file-transfer record whose file came attached to a captured
 * message was not missed.
 */
export async function realtimeMisses(connectorId: string, options: { take?: number } = {}): Promise<RealtimeMiss[]> {
  return db.$queryRaw<RealtimeMiss[]>`
    SELECT f.name AS file, m."messageId", m."streamId" AS "conversationId", m."sentAt"
    FROM "SourceMessage" m JOIN "ExportFile" f ON f.id = m."exportFileId"
    JOIN "Connector" c ON c.id = m."connectorId"
    WHERE m."connectorId" = ${connectorId}::uuid AND c."sourceKind" = 'CONTENT_EXPORT' AND c.realtime
      AND m."attachedTo" IS NULL AND m."sentAt" >= (${CAPTURE_START})
    ORDER BY m."sentAt", m."messageId"
    LIMIT ${options.take ?? 100_000}`;
}

/** The messages real-time capture missed, as CSV (one line each). */
export async function realtimeMissesCsv(connectorId: string): Promise<string> {
  const misses = await realtimeMisses(connectorId);
  return [
    csvLine(["file", "message_id", "conversation_id", "sent_at"]),
    ...misses.map((miss) => csvLine([miss.file, miss.messageId, miss.conversationId, miss.sentAt.toISOString()])),
  ].join("");
}

/** The download's file name for a connector, or undefined when the id names no connector. */
export async function reconciliationFileName(connectorId: string): Promise<string | undefined> {
  const id = z.uuid().safeParse(connectorId);
  if (!id.success) return undefined;
  const connector = await db.connector.findUnique({ where: { id: id.data }, select: { name: true } });
  return connector ? `${connector.name.replace(/[^\w.-]+/g, "_")}-reconciliation.csv` : undefined;
}

/**
 * A reconciliation report (`missed`: the messages real time missed) for `person`, counted with their
 * status-log downloads: both load the database, and one reader must not hold it for everyone.
 * Throws StatusLogBusyError when the person already runs as many downloads as one may.
 */
export async function reconciliationReport(
  connectorId: string,
  { person, missed }: { person: string; missed: boolean },
): Promise<string> {
  const end = startDownloadOf(person);
  try {
    return missed ? await realtimeMissesCsv(connectorId) : await reconciliationCsv(connectorId);
  } finally {
    end();
  }
}
