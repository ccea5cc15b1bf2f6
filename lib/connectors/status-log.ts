// The status log: the ledger (ImportItem joined to SourceMessage) as CSV, read in keyset pages so that
// memory stays flat however many items a connector has.
import { z } from "zod";
import { db } from "@/lib/db";
import type { Prisma } from "@/lib/generated/prisma/client";
import { csvLine } from "./csv";

export const statusLogFilterSchema = z.object({
  run: z.uuid("run must be an import run id").optional(),
  from: z.iso.date("from must be YYYY-MM-DD").optional(),
  to: z.iso.date("to must be YYYY-MM-DD").optional(),
  status: z.enum(["PENDING", "IMPORTED", "SKIPPED", "FAILED"]).optional(),
});

export type StatusLogFilter = z.infer<typeof statusLogFilterSchema>;

export const STATUS_LOG_HEADER = [
  "time",
  "symphony_message_id",
  "stream",
  "sender",
  "mailbox",
  "status",
  "reason",
  "size_bytes",
  "m365_item_id",
  "source_file",
];

const PAGE = 1000;

function where(connectorId: string, filter: StatusLogFilter): Prisma.ImportItemWhereInput {
  const sentAt: Prisma.DateTimeFilter = {};
  if (filter.from) sentAt.gte = new Date(`${filter.from}T00:00:00Z`);
  if (filter.to) sentAt.lt = new Date(new Date(`${filter.to}T00:00:00Z`).getTime() + 86_400_000);
  return {
    connectorId,
    ...(filter.run ? { runId: filter.run } : {}),
    ...(filter.status ? { status: filter.status } : {}),
    ...(filter.from || filter.to ? { sourceMessage: { sentAt } } : {}),
  };
}

/** Streams the CSV (header first), one database page per pull. */
export function statusLogStream(connectorId: string, filter: StatusLogFilter): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let cursor: bigint | undefined;
  let headerSent = false;
  return new ReadableStream({
    async pull(controller) {
      if (!headerSent) {
        headerSent = true;
        controller.enqueue(encoder.encode(csvLine(STATUS_LOG_HEADER)));
        return;
      }
      const items = await db.importItem.findMany({
        where: { ...where(connectorId, filter), ...(cursor !== undefined ? { id: { gt: cursor } } : {}) },
        orderBy: { id: "asc" },
        take: PAGE,
        select: {
          id: true,
          mailbox: true,
          status: true,
          reason: true,
          graphMessageId: true,
          sourceMessage: {
            select: {
              sentAt: true,
              messageId: true,
              streamId: true,
              streamType: true,
              senderEmail: true,
              senderUserId: true,
              sizeBytes: true,
              exportFile: { select: { name: true } },
            },
          },
        },
      });
      if (items.length === 0) {
        controller.close();
        return;
      }
      cursor = items.at(-1)!.id;
      const text = items
        .map(({ sourceMessage: m, ...item }) =>
          csvLine([
            m.sentAt.toISOString(),
            { id: m.messageId },
            { id: `${m.streamType} ${m.streamId}` },
            m.senderEmail ?? m.senderUserId,
            item.mailbox,
            item.status,
            item.reason,
            m.sizeBytes,
            { id: item.graphMessageId },
            m.exportFile?.name ?? null,
          ]),
        )
        .join("");
      controller.enqueue(encoder.encode(text));
      if (items.length < PAGE) controller.close();
    },
  });
}

/** The download's file name for a connector, or undefined when the id names no connector. */
export async function statusLogFileName(connectorId: string): Promise<string | undefined> {
  const id = z.uuid().safeParse(connectorId);
  if (!id.success) return undefined;
  const connector = await db.connector.findUnique({ where: { id: id.data }, select: { name: true } });
  return connector ? `${connector.name.replace(/[^\w.-]+/g, "_")}-status-log.csv` : undefined;
}
