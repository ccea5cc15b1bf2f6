// The status log: the ledger (ImportItem joined to SourceMessage) as CSV, read in keyset pages on
// ImportItem (connectorId, id) so that memory stays flat however many items a connector has, and each
// page costs the same however far into the connector it is.
import { z } from "zod";
import type pg from "pg";
import { db, pgPool } from "@/lib/db";
import { Prisma } from "@/lib/generated/prisma/client";
import { parseCoverage } from "@/lib/pipeline";
import { csvCell, csvIdCell, csvLine } from "./csv";

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

/** Rows fetched from the cursor at once. */
const PAGE = 5000;

function period(filter: StatusLogFilter): Prisma.DateTimeFilter {
  const time: Prisma.DateTimeFilter = {};
  if (filter.from) time.gte = new Date(`${filter.from}T00:00:00Z`);
  if (filter.to) time.lt = new Date(new Date(`${filter.to}T00:00:00Z`).getTime() + 86_400_000);
  return time;
}

/**
 * The connector's items in id order, with their message and file, as the cells' raw values (times as
 * milliseconds since 1970: the columns hold UTC). Read through a cursor: the plan starts at once (walking
 * ImportItem's (connectorId, id) index when no filter narrows it better) and nothing is sorted or read
 * twice, however many rows the connector has. PostgreSQL only reads; the CSV is written here.
 */
function logQuery(connectorId: string, filter: StatusLogFilter): { text: string; values: unknown[] } {
  const { gte, lt } = period(filter);
  const values: unknown[] = [connectorId];
  const and = (condition: string, value: unknown) => {
    values.push(value);
    return `AND ${condition.replace("?", `$${values.length}`)}`;
  };
  const conditions = [
    filter.run ? and(`item."runId" = ?::uuid`, filter.run) : "",
    filter.status && filter.status !== "NOT_READ" ? and(`item.status = ?::"ItemStatus"`, filter.status) : "",
    gte ? and(`message."sentAt" >= ?::timestamp`, new Date(gte).toISOString()) : "",
    lt ? and(`message."sentAt" < ?::timestamp`, new Date(lt).toISOString()) : "",
  ];
  const text = `
    SELECT (extract(epoch FROM message."sentAt") * 1000)::bigint, message."messageId", message."streamType",
           message."streamId", coalesce(message."senderEmail", message."senderUserId"), item.mailbox, item.status,
           item.reason, message."sizeBytes", item."graphMessageId", file.name, item."runId",
           (extract(epoch FROM item."importedAt") * 1000)::bigint
    FROM "ImportItem" AS item
    JOIN "SourceMessage" AS message ON message.id = item."sourceMessageId"
    LEFT JOIN "ExportFile" AS file ON file.id = message."exportFileId"
    WHERE item."connectorId" = $1::uuid ${conditions.join(" ")}
    ORDER BY item.id`;
  return { text, values };
}

/** A row of logQuery: every value as PostgreSQL's text. */
type LogRow = [
  string,
  string,
  string,
  string,
  string,
  string,
  string,
  string | null,
  string,
  string | null,
  string | null,
  string | null,
  string | null,
];

const isoTime = (ms: string) => new Date(Number(ms)).toISOString();

/** The row's CSV line: the cells csvLine would write (ids as they are, the rest through csvCell), built in one go. */
function logLine(row: LogRow): string {
  const [sent, messageId, type, streamId, sender, mailbox, status, reason, size, graphId, file, runId, imported] = row;
  return `${isoTime(sent)},${csvIdCell(messageId)},${csvIdCell(`${type} ${streamId}`)},${csvCell(sender)},${csvCell(mailbox)},${csvCell(status)},${csvCell(reason)},${csvCell(size)},${csvIdCell(graphId)},${csvCell(file)},${csvCell(runId)},${csvCell(imported === null ? null : isoTime(imported))}\r\n`;
}

/**
 * Reads the log through a server-side cursor on a connection of its own, one page per call of `next`
 * (the next page is asked for while the caller writes this one). A download left idle gives its
 * connection back after a while; `close` ends it early.
 */
async function openLogCursor(connectorId: string, filter: StatusLogFilter) {
  const client = await pgPool().connect();
  let done = false;
  // The server may end the connection between two pages (the idle timeout below, a restart): the page
  // asked for then fails, and the download with it, never the process.
  const lost = () => {};
  client.on("error", lost);
  const release = (error?: Error) => {
    if (done) return;
    done = true;
    client.off("error", lost);
    client.release(error);
  };
  const fetchPage = () => {
    const page = client.query<LogRow>({ text: `FETCH ${PAGE} FROM status_log`, rowMode: "array" });
    page.catch(() => {}); // awaited by next(); a page asked for ahead and never read must not go unhandled
    return page;
  };
  try {
    await client.query("BEGIN READ ONLY");
    await client.query("SET LOCAL idle_in_transaction_session_timeout = '5min'");
    const { text, values } = logQuery(connectorId, filter);
    await client.query(`DECLARE status_log NO SCROLL CURSOR FOR ${text}`, values);
  } catch (error) {
    release(error as Error);
    throw error;
  }
  let ahead: Promise<pg.QueryResult<LogRow>> | undefined = fetchPage();
  return {
    async next(): Promise<LogRow[]> {
      if (!ahead) return [];
      try {
        const { rows } = await ahead;
        ahead = rows.length === PAGE ? fetchPage() : undefined;
        if (!ahead) await this.close();
        return rows;
      } catch (error) {
        ahead = undefined;
        release(error as Error);
        throw error;
      }
    },
    async close() {
      if (done) return;
      ahead = undefined;
      await client.query("COMMIT").then(
        () => release(),
        (error: Error) => release(error),
      );
    },
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

/** Streams the CSV (header first), one page of the cursor per pull. */
export function statusLogStream(connectorId: string, filter: StatusLogFilter): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let cursor: Awaited<ReturnType<typeof openLogCursor>> | undefined;
  let headerSent = false;
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
      if (filter.status === "NOT_READ") return finish(controller);
      cursor ??= await openLogCursor(connectorId, filter);
      const rows = await cursor.next();
      if (rows.length === 0) return finish(controller);
      let text = "";
      for (const row of rows) text += logLine(row);
      controller.enqueue(encoder.encode(text));
    },
    async cancel() {
      await cursor?.close();
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
