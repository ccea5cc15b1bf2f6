// The status log: the ledger (ImportItem joined to SourceMessage) as CSV, read through a cursor in
// ImportItem (connectorId, id) order so that memory stays flat however many items a connector has, and
// each page costs the same however far into the connector it is. PostgreSQL joins each row's cells;
// this process checks them against what csv.ts would write and writes the line (a few µs a row).
import { z } from "zod";
import pg from "pg";
import { db, pgPool } from "@/lib/db";
import { Prisma } from "@/lib/generated/prisma/client";
import { parseCoverage } from "@/lib/pipeline";
import { PLAIN_CELL, PLAIN_ID, csvCell, csvIdCell, csvLine } from "./csv";

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

const FROM_LEDGER = `
    FROM "ImportItem" AS item
    JOIN "SourceMessage" AS message ON message.id = item."sourceMessageId"
    LEFT JOIN "ExportFile" AS file ON file.id = message."exportFileId"`;

/**
 * The connector's items in id order, with their message and file. Each row: the item's id, the two
 * times as milliseconds since 1970 (the columns hold UTC) and the cells between them as PostgreSQL
 * joins them (a null as an empty cell, which is also how the CSV writes it), so that a row costs this
 * process one string rather than a dozen. Joined with || and casts: concat() looks up each value's
 * output function again on every row, which costs PostgreSQL more than the rest of the row. Read
 * through a cursor: the plan starts at once (walking ImportItem's (connectorId, id) index when no
 * filter narrows it better) and nothing is sorted or read twice, however many rows the connector has.
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
    SELECT item.id, (extract(epoch FROM message."sentAt") * 1000)::bigint,
           ',' || message."messageId" || ',' || message."streamType" || ' ' || message."streamId" || ',' ||
           coalesce(message."senderEmail", message."senderUserId") || ',' || item.mailbox || ',' || item.status::text ||
           ',' || coalesce(item.reason, '') || ',' || message."sizeBytes"::text || ',' ||
           coalesce(item."graphMessageId", '') || ',' || coalesce(file.name, '') || ',' || coalesce(item."runId"::text, ''),
           (extract(epoch FROM item."importedAt") * 1000)::bigint
    ${FROM_LEDGER}
    WHERE item."connectorId" = $1::uuid ${conditions.join(" ")}
    ORDER BY item.id`;
  return { text, values };
}

/** The cells of some items one by one, for those whose joined cells are not READY. */
const RAW_CELLS = `
    SELECT item.id, message."messageId", message."streamType", message."streamId",
           coalesce(message."senderEmail", message."senderUserId"), item.mailbox, item.status, item.reason,
           message."sizeBytes", item."graphMessageId", file.name, item."runId"
    ${FROM_LEDGER}
    WHERE item.id = ANY($1::bigint[])`;

/** Every column as PostgreSQL's text (pg would test each bigint against a regular expression first). */
const asText = { getTypeParser: () => (value: string) => value };

/** A row of logQuery, as PostgreSQL's text: id, sent, the joined cells, imported. */
type LogRow = [string, string, string, string | null];

/** A row of RAW_CELLS: every value as PostgreSQL's text. */
type RawRow = [
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
];

// Identifier cells that csvIdCell writes as they are (its PLAIN_ID, or empty; the conversation cell
// "TYPE streamId" likewise, as csvCell leaves a space inside), and text cells that csvCell writes as
// they are (its PLAIN, or empty). None holds a comma, so the joined cells match only when they hold
// exactly the commas PostgreSQL put between them: each cell is then known and is exactly what
// csvIdCell/csvCell would write. The rest (a quote, a line break, a formula, an invisible or non-ASCII
// character...) are written from their own values.
const ID = `(?:${PLAIN_ID})?`;
const CONVERSATION = String.raw`${PLAIN_ID} [!#-+\-.-:<-~]+`;
const TEXT = `(?:${PLAIN_CELL})?`;
const READY = new RegExp(`^,${ID},${CONVERSATION},${TEXT},${TEXT},${TEXT},${TEXT},${TEXT},${ID},${TEXT},${TEXT}$`);

/** The cells between the times as csvLine would write them (ids through csvIdCell, the rest through csvCell). */
function rawCells(row: RawRow): string {
  const [, messageId, type, streamId, sender, mailbox, status, reason, size, graphId, file, runId] = row;
  return `,${csvIdCell(messageId)},${csvIdCell(`${type} ${streamId}`)},${csvCell(sender)},${csvCell(mailbox)},${csvCell(status)},${csvCell(reason)},${csvCell(size)},${csvIdCell(graphId)},${csvCell(file)},${csvCell(runId)}`;
}

const DAY_MS = 86_400_000;
const pad = (width: number) => Array.from({ length: 10 ** width }, (_, n) => String(n).padStart(width, "0"));
const PAD2 = pad(2);
const PAD3 = pad(3);

/**
 * Date#toISOString of milliseconds since 1970, a few times faster: the date part is kept from the
 * previous call (the rows of a page mostly share their day) and the time of day is written from tables.
 */
function isoTimes() {
  let day = NaN;
  let dayText = "";
  return (ms: number): string => {
    // Beyond Date's range: let Date say so, as it always has.
    if (!(Math.abs(ms) <= 8.64e15)) return new Date(ms).toISOString();
    const d = Math.floor(ms / DAY_MS);
    if (d !== day) {
      const iso = new Date(d * DAY_MS).toISOString();
      day = d;
      dayText = iso.slice(0, iso.indexOf("T") + 1);
    }
    let t = ms - d * DAY_MS;
    const milli = t % 1000;
    t = (t - milli) / 1000;
    const second = t % 60;
    t = (t - second) / 60;
    return `${dayText}${PAD2[(t - (t % 60)) / 60]}:${PAD2[t % 60]}:${PAD2[second]}.${PAD3[milli]}Z`;
  };
}

/** Lines joined into strings of about this many before encoding (one long string encodes several times slower). */
const LINES_PER_PIECE = 256;

// Each row goes to the writer as it arrives (a listener, no callback: pg then keeps no rows).
const FETCH_PAGE: pg.QueryArrayConfig = { text: `FETCH ${PAGE} FROM status_log`, rowMode: "array", types: asText };

/** A line whose cells were not READY: written once its cells are looked up. */
type Hole = { id: string; sent: string; imported: string };

/** One page of the CSV being written: bytes, with holes where a line's cells must be looked up, and the lines not yet encoded. */
type Page = { rows: number; pieces: Array<Buffer | Hole>; holes: Hole[]; text: string; lines: number };

/**
 * Writes logQuery's rows into pages of CSV bytes as they arrive, so that no row outlives its line.
 * Items of one message follow each other with the same times, so the last of each is kept rather than
 * written again.
 */
function logWriter() {
  const iso = isoTimes();
  let sentMs = "";
  let sentText = "";
  let importedMs = "";
  let importedText = "";
  const flush = (page: Page) => {
    if (page.text) page.pieces.push(Buffer.from(page.text));
    page.text = "";
    page.lines = 0;
  };
  return {
    start: (): Page => ({ rows: 0, pieces: [], holes: [], text: "", lines: 0 }),
    add(page: Page, [id, sent, cells, imported]: LogRow) {
      page.rows += 1;
      if (sent !== sentMs) {
        sentMs = sent;
        sentText = iso(Number(sent));
      }
      if (imported !== null && imported !== importedMs) {
        importedMs = imported;
        importedText = csvCell(iso(Number(imported)));
      }
      const end = `,${imported === null ? "" : importedText}\r\n`;
      if (!READY.test(cells)) {
        flush(page);
        const hole = { id, sent: sentText, imported: end };
        page.pieces.push(hole);
        page.holes.push(hole);
        return;
      }
      page.text += `${sentText}${cells}${end}`;
      if (++page.lines === LINES_PER_PIECE) flush(page);
    },
    /** The page's bytes, its holes filled with the cells looked up for them. */
    finish(page: Page, cells: Map<string, string>): Buffer {
      flush(page);
      return Buffer.concat(
        page.pieces.map((piece) =>
          Buffer.isBuffer(piece) ? piece : Buffer.from(`${piece.sent}${cells.get(piece.id)}${piece.imported}`),
        ),
      );
    },
  };
}

/**
 * Reads the log through a server-side cursor on a connection of its own, one page per call of `next`
 * (the next page is asked for, and written as it comes, while the caller sends this one), in one
 * repeatable-read transaction so that the cells looked up for a page are those of the cursor's snapshot.
 * A download left idle gives its connection back after a while; `close` ends it early.
 */
async function openLogCursor(connectorId: string, filter: StatusLogFilter, onRelease: () => void) {
  const client = await pgPool()
    .connect()
    .catch((error: unknown) => {
      const busy = error instanceof Error && /timeout exceeded when trying to connect/.test(error.message);
      throw busy ? new StatusLogBusyError() : error;
    });
  const writer = logWriter();
  let done = false;
  const release = (error?: Error) => {
    if (done) return;
    done = true;
    // A client given back with an error is destroyed, and may still report one: the listener stays.
    if (!error) client.off("error", lost);
    client.release(error);
    onRelease();
  };
  // The server may end the connection between two pages (the idle timeout below, a restart): the
  // connection goes back to the pool at once, even if the reader never asks for another page (a
  // stalled reader would otherwise keep it for good), and the next page fails the download, never the process.
  const lost = (error: Error) => release(error);
  client.on("error", lost);
  const fetchPage = () => {
    const page = new Promise<Page>((resolve, reject) => {
      const written = writer.start();
      // A row that cannot be written (a time beyond what a Date holds) fails the download when the page
      // ends: thrown from pg's row event, it would end the process.
      let failure: { error: unknown } | undefined;
      const fetch = new pg.Query<LogRow>(FETCH_PAGE);
      fetch.on("row", (row) => {
        try {
          if (!failure) writer.add(written, row);
        } catch (error) {
          failure = { error };
        }
      });
      fetch.on("error", reject);
      fetch.on("end", () => (failure ? reject(failure.error as Error) : resolve(written)));
      client.query(fetch);
    });
    page.catch(() => {}); // awaited by next(); a page asked for ahead and never read must not go unhandled
    return page;
  };
  try {
    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    await client.query("SET LOCAL idle_in_transaction_session_timeout = '5min'");
    const { text, values } = logQuery(connectorId, filter);
    await client.query(`DECLARE status_log NO SCROLL CURSOR FOR ${text}`, values);
  } catch (error) {
    release(error as Error);
    throw error;
  }
  let ahead: Promise<Page> | undefined = fetchPage();
  return {
    /** The next page's bytes; none at the end. */
    async next(): Promise<Buffer | undefined> {
      if (!ahead) return undefined;
      try {
        const page = await ahead;
        ahead = page.rows === PAGE ? fetchPage() : undefined;
        const cells = new Map<string, string>();
        if (page.holes.length > 0) {
          const raw = await client.query<RawRow>({
            text: RAW_CELLS,
            values: [page.holes.map((hole) => hole.id)],
            rowMode: "array",
            types: asText,
          });
          for (const row of raw.rows) cells.set(row[0], rawCells(row));
        }
        if (!ahead) await this.close();
        return page.rows > 0 ? writer.finish(page, cells) : undefined;
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

/**
 * Every connection for status-log downloads is in use (each download holds one while it runs), or the
 * person already runs as many downloads as one person may.
 */
export class StatusLogBusyError extends Error {
  constructor(message = "Too many status-log downloads are running at once. Try again in a minute.") {
    super(message);
    this.name = "StatusLogBusyError";
  }
}

/** Downloads one person may run at once in a web process: the connections are shared by everyone. */
export const DOWNLOADS_PER_PERSON = 2;
const runningFor = new Map<string, number>();

/**
 * Counts a download of `person` in (a status log, or a reconciliation report, which also loads the
 * database); the returned function counts it out (once, whatever calls it).
 */
export function startDownloadOf(person: string): () => void {
  const running = runningFor.get(person) ?? 0;
  if (running >= DOWNLOADS_PER_PERSON)
    throw new StatusLogBusyError(
      `You already have ${running} downloads running (status logs or reconciliation reports). Let one finish, or cancel it, and try again.`,
    );
  runningFor.set(person, running + 1);
  let ended = false;
  return () => {
    if (ended) return;
    ended = true;
    const left = (runningFor.get(person) ?? 1) - 1;
    if (left > 0) runningFor.set(person, left);
    else runningFor.delete(person);
  };
}

/**
 * Streams the CSV (header first), one page of the cursor per pull. The cursor is opened before the
 * stream is returned, so that a download that cannot start (StatusLogBusyError) is answered as such
 * instead of as a file that breaks off after its header.
 */
export async function statusLogStream(
  connectorId: string,
  filter: StatusLogFilter,
  options: { person?: string } = {},
): Promise<ReadableStream<Uint8Array>> {
  const encoder = new TextEncoder();
  // A person's download counts while it holds a connection: until it ends, is cancelled, fails, or
  // PostgreSQL ends it idle (a reader gone without the response being cancelled). NOT_READ holds none.
  const holdsConnection = filter.status !== "NOT_READ";
  const end = options.person === undefined || !holdsConnection ? () => {} : startDownloadOf(options.person);
  let cursor: Awaited<ReturnType<typeof openLogCursor>> | undefined;
  try {
    cursor = holdsConnection ? await openLogCursor(connectorId, filter, end) : undefined;
  } catch (error) {
    end();
    throw error;
  }
  let headerSent = false;
  const finish = async (controller: ReadableStreamDefaultController<Uint8Array>) => {
    const lines = await notReadLines(connectorId, filter);
    if (lines) controller.enqueue(encoder.encode(lines));
    controller.close();
    end();
  };
  return new ReadableStream({
    async pull(controller) {
      if (!headerSent) {
        headerSent = true;
        controller.enqueue(encoder.encode(csvLine(STATUS_LOG_HEADER)));
        return;
      }
      try {
        const bytes = await cursor?.next();
        if (!bytes) return await finish(controller);
        controller.enqueue(bytes);
      } catch (error) {
        end();
        throw error;
      }
    },
    async cancel() {
      end();
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
