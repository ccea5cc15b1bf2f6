// The status log: the ledger (ImportItem joined to SourceMessage) as CSV, read in keyset pages so that
// memory stays flat however many items a connector has.
import { z } from "zod";
import { db } from "@/lib/db";
import type { Prisma } from "@/lib/generated/prisma/client";
import { csvLine } from "./csv";

const STATUSES = ["PENDING", "IMPORTED", "SKIPPED", "FAILED"] as const;
// An empty field of the flyout's filter form means "any".
const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value) => (value === "" ? undefined : value), schema.optional());

export const statusLogFilterSchema = z
  .object({
    run: optional(z.uuid("run must be the id of one of the connector's import runs")),
    from: optional(z.iso.date("from must be a date written YYYY-MM-DD")),
    to: optional(z.iso.date("to must be a date written YYYY-MM-DD")),
    status: optional(
      z.preprocess(
        (value) => (typeof value === "string" ? value.trim().toUpperCase() : value),
        z.enum(STATUSES, `status must be one of ${STATUSES.map((s) => s.toLowerCase()).join(", ")}`),
      ),
    ),
  })
  .refine((filter) => !filter.from || !filter.to || filter.from <= filter.to, {
    message: "from must not be after to",
    path: ["from"],
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
  "run_id",
  "imported_at",
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
          runId: true,
          importedAt: true,
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
            item.runId,
            item.importedAt?.toISOString() ?? null,
          ]),
        )
        .join("");
      controller.enqueue(encoder.encode(text));
      if (items.length < PAGE) controller.close();
    },
  });
}

/**
 * The download's file name: the connector's name and what the filter kept (run, dates, status), so
 * that several downloads side by side say what each holds. Undefined when the id names no connector.
 */
export async function statusLogFileName(
  connectorId: string,
  filter: StatusLogFilter = {},
): Promise<string | undefined> {
  const id = z.uuid().safeParse(connectorId);
  if (!id.success) return undefined;
  const connector = await db.connector.findUnique({ where: { id: id.data }, select: { name: true } });
  if (!connector) return undefined;
  const parts = [
    connector.name,
    "status-log",
    filter.run ? `run-${filter.run.slice(0, 8)}` : "",
    filter.from || filter.to ? `${filter.from ?? "start"}_to_${filter.to ?? "now"}` : "all-dates",
    filter.status?.toLowerCase() ?? "",
  ];
  return `${parts
    .filter(Boolean)
    .join("-")
    .replace(/[^\w.-]+/g, "_")}.csv`;
}
