// The status log: the ledger (ImportItem joined to SourceMessage) as CSV, read in keyset pages so that
// memory stays flat however many items a connector has.
import { z } from "zod";
import { db } from "@/lib/db";
import { Prisma } from "@/lib/generated/prisma/client";
import { parseCoverage } from "@/lib/pipeline";
import { csvLine } from "./csv";

/** NOT_READ: a conversation the run could not read (conversations source), not a ledger item. */
const STATUSES = ["PENDING", "IMPORTED", "SKIPPED", "FAILED", "NOT_READ"] as const;
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

function period(filter: StatusLogFilter): Prisma.DateTimeFilter {
  const time: Prisma.DateTimeFilter = {};
  if (filter.from) time.gte = new Date(`${filter.from}T00:00:00Z`);
  if (filter.to) time.lt = new Date(new Date(`${filter.to}T00:00:00Z`).getTime() + 86_400_000);
  return time;
}

function where(connectorId: string, filter: StatusLogFilter): Prisma.ImportItemWhereInput {
  return {
    connectorId,
    ...(filter.run ? { runId: filter.run } : {}),
    ...(filter.status && filter.status !== "NOT_READ" ? { status: filter.status } : {}),
    ...(filter.from || filter.to ? { sourceMessage: { sentAt: period(filter) } } : {}),
  };
}

/**
 * The conversations a run could not read, as NOT_READ lines after the items: the filtered run's, else
 * the latest finished run's (every run of this source meets the same ones again), at the run's start.
 */
async function notReadLines(connectorId: string, filter: StatusLogFilter): Promise<string> {
  if (filter.status && filter.status !== "NOT_READ") return "";
  const run = await db.importRun.findFirst({
    where: {
      connectorId,
      coverage: { not: Prisma.AnyNull },
      ...(filter.run ? { id: filter.run } : { status: { in: ["SUCCEEDED", "PARTIAL", "FAILED"] } }),
      ...(filter.from || filter.to ? { startedAt: period(filter) } : {}),
    },
    orderBy: { startedAt: "desc" },
    select: { id: true, startedAt: true, coverage: true },
  });
  const refused = (run && parseCoverage(run.coverage)?.refused) ?? [];
  return refused
    .map((stream) =>
      csvLine([
        run!.startedAt.toISOString(),
        { id: null },
        { id: `${stream.type} ${stream.id}` },
        null,
        null,
        "NOT_READ",
        stream.name ? `${stream.name}: ${stream.reason}` : stream.reason,
        null,
        { id: null },
        null,
        run!.id,
        null,
      ]),
    )
    .join("");
}

/** Streams the CSV (header first), one database page per pull. */
export function statusLogStream(connectorId: string, filter: StatusLogFilter): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let cursor: bigint | undefined;
  let headerSent = false;
  let itemsDone = filter.status === "NOT_READ";
  const finish = async (controller: ReadableStreamDefaultController<Uint8Array>) => {
    const lines = await notReadLines(connectorId, filter);
    if (lines) controller.enqueue(encoder.encode(lines));
    controller.close();
  };
  return new ReadableStream({
    async pull(controller) {
      if (!headerSent) {
        headerSent = true;
        controller.enqueue(encoder.encode(csvLine(STATUS_LOG_HEADER)));
        return;
      }
      if (itemsDone) return finish(controller);
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
      if (items.length === 0) return finish(controller);
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
      if (items.length < PAGE) itemsDone = true;
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
