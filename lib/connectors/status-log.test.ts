import { parse as parseCsv } from "csv-parse/sync";
import { afterAll, describe, expect, it } from "vitest";
import { db, pgPool } from "@/lib/db";
import { ledgerMessage, until } from "@/lib/testing";
import { csvLine } from "./csv";
import { reconciliationReport } from "./reconciliation";
import {
  STATUS_LOG_HEADER,
  StatusLogBusyError,
  statusLogFilterSchema,
  statusLogStream,
  type StatusLogFilter,
} from "./status-log";

const parse = (query: string) => statusLogFilterSchema.safeParse(Object.fromEntries(new URLSearchParams(query)));
const problems = (query: string) => {
  const result = parse(query);
  return result.success ? [] : result.error.issues.map((issue) => issue.message);
};

describe("the status log filter", () => {
  it("takes a status in any case, and empty fields of the flyout's form as no filter", () => {
    expect(parse("status=skipped").data).toEqual({ status: "SKIPPED" });
    expect(parse("status=Failed&run=&from=&to=").data).toEqual({ status: "FAILED" });
  });

  it("says in words what is wrong with a bad filter", () => {
    expect(problems("status=bogus")).toEqual(["status must be one of pending, imported, skipped, failed, not_read"]);
    expect(problems("from=01/12/2026")).toEqual(["from must be a date written YYYY-MM-DD"]);
    expect(problems("run=42")).toEqual(["run must be the id of one of the connector's import runs"]);
    expect(problems("from=2026-12-02&to=2026-12-01")).toEqual(["from must not be after to"]);
  });
});

describe("the status log download", () => {
  const name = `status-log-${Date.now()}`;
  afterAll(() => db.connector.deleteMany({ where: { name: { startsWith: name } } }));

  type Row = Record<string, string>;
  const csv = async (connectorId: string, filter: StatusLogFilter = {}) =>
    new Response(await statusLogStream(connectorId, filter)).text();
  const rows = async (connectorId: string, filter: StatusLogFilter = {}) =>
    parseCsv<Row>(await csv(connectorId, filter), { columns: true });

  it("writes hostile values in every column, on any page, exactly as csvLine writes them, and times as Date does", async () => {
    const connector = await db.connector.create({ data: { name: `${name}-hostile`, createdBy: "test" } });
    const run = await db.importRun.create({ data: { connectorId: connector.id, trigger: "MANUAL" } });
    // Formulas (also behind white space), separators, quotes, line breaks, controls, bidi and zero-width
    // characters, non-ASCII and astral text, characters a hand-written quoting rule might miss, the empty text.
    const hostile = [
      "=1+1",
      "+44 20",
      "-5",
      "@SUM(A1)",
      " lead",
      "trail ",
      "\tTab",
      'a"b',
      "a,b",
      "a;b",
      "line\nbreak",
      "cr\rhere",
      "\u00a0+1",
      "\u3000=x",
      "\uff1d1",
      "bidi\u202eevil",
      "c1\u0085x",
      "ctrl\u0001x",
      "vt\u000bx",
      "zero\u200bwidth",
      "x\u2028y",
      "\u2028edge",
      "emoji \u{1f600}",
      "Zo\u00eb",
      "[bracket]",
      "back\\slash",
      '{"json":1}',
      "<tag>",
      "a|b",
      "^caret",
      "`tick`",
      "'quoted'",
      "%",
      "~",
      "",
      "-AAMk==",
      "a b",
      "a  b ",
    ];
    const files = await db.exportFile.createManyAndReturn({
      data: hostile.map((fileName, i) => ({ connectorId: connector.id, sourceId: `f${i}`, name: fileName })),
      select: { id: true, name: true },
    });
    // Every 7th message carries one hostile value in one column (each value in each of the 8 text and
    // id columns once), among plain ones; 2 items a message make two pages of the cursor.
    const COLUMNS = 8;
    const count = 2_600;
    expect(7 * hostile.length * COLUMNS).toBeLessThan(count);
    const hostileAt = (k: number, column: number) => {
      const h = k / 7;
      return k % 7 === 0 && h < hostile.length * COLUMNS && h % COLUMNS === column
        ? Math.floor(h / COLUMNS)
        : undefined;
    };
    const value = (k: number, column: number, plain: string | null) => {
      const at = hostileAt(k, column);
      return at === undefined ? plain : hostile[at]!;
    };
    const messages = Array.from({ length: count }, (_, k) => ({
      connectorId: connector.id,
      messageId: value(k, 0, `m${k}`)!,
      streamType: value(k, 1, "IM")!,
      streamId: value(k, 2, `s${k % 7}`)!,
      sentAt: new Date(Date.UTC(2026, 10, 1 + (k % 3), 0, 0, k % 60, k % 1000)),
      senderUserId: `${k}`,
      senderEmail: value(k, 3, k % 2 ? null : `u${k}@bank.example`),
      participants: [],
      blobName: "b",
      sizeBytes: k % 26 === 0 ? -k : k,
      exportFileId: hostileAt(k, 7) === undefined ? null : files[hostileAt(k, 7)!]!.id,
      runId: run.id,
    }));
    const created = await db.sourceMessage.createManyAndReturn({ data: messages, select: { id: true } });
    const items = created.flatMap(({ id }, k) =>
      [0, 1].map((j) => ({
        connectorId: connector.id,
        sourceMessageId: id,
        mailbox: j === 0 ? value(k, 4, "box0@bank.example")! : "box1@bank.example",
        status: j === 0 ? ("IMPORTED" as const) : ("FAILED" as const),
        reason: j === 0 ? value(k, 5, null) : "mailbox full",
        graphMessageId: j === 0 ? value(k, 6, `AAMk-${k}`) : null,
        runId: k % 5 === 0 ? null : run.id,
        importedAt: j === 0 ? new Date(Date.UTC(2026, 10, 2, 1, k % 60, 0, k % 1000)) : null,
      })),
    );
    await db.importItem.createMany({ data: items });
    // Times a JavaScript Date writes with a sign (a five-figure year, 1 BC), before 1970, at the edges of a day.
    const times: Array<[number, string, string | null]> = [
      [1, "10000-01-01 00:00:00", "0500-06-15 23:59:59.999"],
      [2, "0001-01-01 00:00:00 BC", "1969-12-31 23:59:59.999"],
      [13, "1960-02-29 12:00:00.5", null],
      [26, "2026-11-01 00:00:00", "10000-01-01 00:00:00.001"],
    ];
    // PostgreSQL's way of writing them, as a Date: 1 BC is year 0, a five-figure year takes a sign.
    const asDate = (time: string) =>
      new Date(
        `${time
          .replace(/^0001-(.*) BC$/, "0000-$1")
          .replace(/^(\d{5})/, "+0$1")
          .replace(" ", "T")}Z`,
      );
    for (const [k, sent, imported] of times) {
      messages[k]!.sentAt = asDate(sent);
      await db.$executeRawUnsafe(
        `UPDATE "SourceMessage" SET "sentAt" = $1::timestamp WHERE id = $2`,
        sent,
        created[k]!.id,
      );
      if (imported) {
        items[k * 2]!.importedAt = asDate(imported);
        await db.$executeRawUnsafe(
          `UPDATE "ImportItem" SET "importedAt" = $1::timestamp WHERE "sourceMessageId" = $2 AND status = 'IMPORTED'`,
          imported,
          created[k]!.id,
        );
      }
    }

    const fileName = new Map(files.map((file) => [file.id, file.name]));
    const expected = items.map((item, i) => {
      const message = messages[Math.floor(i / 2)]!;
      return `${message.sentAt.toISOString()},${csvLine([
        { id: message.messageId },
        { id: `${message.streamType} ${message.streamId}` },
        message.senderEmail ?? message.senderUserId,
        item.mailbox,
        item.status,
        item.reason,
        String(message.sizeBytes),
        { id: item.graphMessageId },
        message.exportFileId === null ? null : fileName.get(message.exportFileId),
        item.runId,
        item.importedAt?.toISOString(),
      ])}`;
    });
    expect(expected[2]).toMatch(/^\+010000-01-01T00:00:00\.000Z,.*,0500-06-15T23:59:59\.999Z\r\n$/);
    expect(expected[4]).toMatch(/^0000-01-01T00:00:00\.000Z,.*,1969-12-31T23:59:59\.999Z\r\n$/);
    expect(expected[52]).toMatch(/,'\+010000-01-01T00:00:00\.001Z\r\n$/);
    expect(await csv(connector.id)).toBe(`${csvLine(STATUS_LOG_HEADER)}${expected.join("")}`);
  });

  it("fails the download, not the process, on a time beyond what a Date can hold", async () => {
    const connector = await db.connector.create({ data: { name: `${name}-far`, createdBy: "test" } });
    const message = await db.sourceMessage.create({
      data: {
        connectorId: connector.id,
        messageId: "far",
        streamId: "s",
        streamType: "IM",
        sentAt: new Date(),
        senderUserId: "1",
        participants: [],
        blobName: "b",
        sizeBytes: 1,
        items: { create: { connectorId: connector.id, mailbox: "a@bank.example" } },
      },
    });
    await db.$executeRawUnsafe(`UPDATE "SourceMessage" SET "sentAt" = '280000-01-01' WHERE id = $1`, message.id);
    await expect(csv(connector.id)).rejects.toThrow(RangeError);
    expect(pgPool().idleCount).toBe(pgPool().totalCount);
  });

  it("writes every ledger row of the connector once, in order, with its columns quoted as before, and keeps its filters", async () => {
    const connector = await db.connector.create({ data: { name, createdBy: "test" } });
    const [first, second] = await Promise.all(
      [1, 2].map((n) =>
        db.importRun.create({
          data: { connectorId: connector.id, trigger: "MANUAL", startedAt: new Date(Date.UTC(2026, 10, n)) },
        }),
      ),
    );
    const file = await db.exportFile.create({
      data: { connectorId: connector.id, sourceId: "f1", name: "export; 2026-11-01.zip" },
    });
    // Hostile values: a formula, a bidi override, quotes and separators, ids starting with "-" (neutralised).
    const special = await db.sourceMessage.create({
      data: {
        connectorId: connector.id,
        messageId: "-abc_def==",
        streamId: "s,1",
        streamType: "ROOM",
        sentAt: new Date("2026-11-01T10:00:00.000Z"),
        senderUserId: "7",
        senderEmail: '=HYPERLINK("x")\u202e',
        participants: [],
        blobName: "b",
        sizeBytes: 1234,
        runId: first!.id,
        exportFileId: file.id,
        items: {
          create: [
            {
              connectorId: connector.id,
              mailbox: "a@bank.example",
              status: "IMPORTED",
              graphMessageId: "-AAMk=",
              runId: first!.id,
              importedAt: new Date("2026-11-01T10:05:00.000Z"),
            },
            { connectorId: connector.id, mailbox: "b@bank.example", status: "SKIPPED", reason: " no mailbox; ok" },
          ],
        },
      },
    });
    expect(special.id).toBeDefined();
    // Values near the edge of what PostgreSQL may write as a ready line: each must come out as csvLine writes it.
    const edgy = ["-1 (555)", "+44", "@home", "a b", "trailing ", "Zoë", "x\ty", "semi;colon", "a'b", "~tilde!", ""];
    const edge = await db.sourceMessage.create({
      data: {
        connectorId: connector.id,
        messageId: "-edge+/=",
        streamId: "s3",
        streamType: "IM",
        sentAt: new Date("2026-11-01T11:00:00.000Z"),
        senderUserId: "8",
        participants: [],
        blobName: "b",
        sizeBytes: 1,
        items: {
          create: edgy.map((value, i) => ({
            connectorId: connector.id,
            mailbox: `m${i}@bank.example`,
            status: "FAILED" as const,
            reason: value,
            graphMessageId: value ? `=${value}` : null,
          })),
        },
      },
    });
    expect(edge.id).toBeDefined();
    // Enough rows to take several pages, over two days and both runs.
    const messages = await db.sourceMessage.createManyAndReturn({
      data: Array.from({ length: 2_600 }, (_, i) => ({
        connectorId: connector.id,
        messageId: `m${i}`,
        streamId: "s2",
        streamType: "IM",
        sentAt: new Date(Date.UTC(2026, 10, i < 1_300 ? 2 : 3, 0, 0, i % 60)),
        senderUserId: `${i}`,
        participants: [],
        blobName: `b${i}`,
        sizeBytes: i,
      })),
      select: { id: true, messageId: true },
    });
    await db.importItem.createMany({
      data: messages.flatMap((message, i) =>
        ["c@bank.example", "d@bank.example"].map((mailbox, j) => ({
          connectorId: connector.id,
          sourceMessageId: message.id,
          mailbox,
          status: j === 0 ? ("PENDING" as const) : ("FAILED" as const),
          reason: j === 0 ? null : "mailbox full",
          runId: i % 2 === 0 ? first!.id : second!.id,
        })),
      ),
    });

    const text = await csv(connector.id);
    const lines = text.split("\r\n");
    expect(lines[0]).toBe(STATUS_LOG_HEADER.join(","));
    expect(lines[1]).toBe(
      `2026-11-01T10:00:00.000Z,'-abc_def==,"ROOM s,1","'=HYPERLINK(""x"")\\u202E",a@bank.example,IMPORTED,,1234,'-AAMk=,"export; 2026-11-01.zip",${first!.id},2026-11-01T10:05:00.000Z`,
    );
    expect(lines[2]).toBe(
      `2026-11-01T10:00:00.000Z,'-abc_def==,"ROOM s,1","'=HYPERLINK(""x"")\\u202E",b@bank.example,SKIPPED," no mailbox; ok",1234,,"export; 2026-11-01.zip",,`,
    );
    expect(lines.slice(3, 3 + edgy.length)).toEqual(
      edgy.map((value, i) =>
        csvLine([
          "2026-11-01T11:00:00.000Z",
          { id: "-edge+/=" },
          { id: "IM s3" },
          "8",
          `m${i}@bank.example`,
          "FAILED",
          value,
          1,
          { id: value ? `=${value}` : null },
          null,
          null,
          null,
        ]).trimEnd(),
      ),
    );
    expect(lines[3 + edgy.length]).toBe(
      `2026-11-02T00:00:00.000Z,m0,IM s2,0,c@bank.example,PENDING,,0,,,${first!.id},`,
    );
    expect(lines).toHaveLength(1 + 2 + edgy.length + 5_200 + 1); // header, the special rows, the rest, the final line break

    const all = await rows(connector.id);
    expect(all.slice(2 + edgy.length).map((row) => `${row.symphony_message_id}|${row.mailbox}`)).toEqual(
      messages.flatMap((m) => [`${m.messageId}|c@bank.example`, `${m.messageId}|d@bank.example`]),
    );
    expect((await rows(connector.id, { status: "FAILED" })).map((row) => row.symphony_message_id)).toEqual([
      ...edgy.map(() => "'-edge+/="),
      ...messages.map((m) => m.messageId),
    ]);
    expect(await rows(connector.id, { run: second!.id })).toHaveLength(2_600);
    expect(await rows(connector.id, { run: first!.id, status: "IMPORTED" })).toHaveLength(1);
    expect(await rows(connector.id, { from: "2026-11-03", to: "2026-11-03" })).toHaveLength(2_600);
    expect(await rows(connector.id, { from: "2026-11-01", to: "2026-11-02", status: "PENDING" })).toHaveLength(1_300);
    expect(await rows(connector.id, { to: "2026-10-31" })).toEqual([]);

    // A download stopped half way (the browser went away) gives its database connection back.
    const reader = (await statusLogStream(connector.id, {})).getReader();
    await reader.read(); // the header
    expect((await reader.read()).value?.length).toBeGreaterThan(0);
    await reader.cancel();
    expect(pgPool().totalCount).toBeGreaterThan(0);
    expect(pgPool().idleCount).toBe(pgPool().totalCount);
  });

  it("gives a stalled download's connection back when the server ends it, though the reader never reads again", async () => {
    const connector = await db.connector.create({ data: { name: `log-stalled-${Date.now()}`, createdBy: "test" } });
    // Pages enough that the download is still open when its reader stops.
    const message = await ledgerMessage(connector.id, { messageId: "stalled", blobName: "b", status: "IMPORTED" });
    await db.$executeRaw`
      INSERT INTO "ImportItem" ("connectorId", "sourceMessageId", mailbox, status, "updatedAt")
      SELECT ${connector.id}::uuid, ${message.id}, 'm' || n || '@bank.example', 'IMPORTED', now()
      FROM generate_series(1, 12000) AS n`;
    const started = new Date();
    const stalled = (await statusLogStream(connector.id, {}, { person: "gone" })).getReader();
    await stalled.read(); // the header; then the reader stops reading
    const stalledToo = (await statusLogStream(connector.id, {}, { person: "gone" })).getReader();
    await stalledToo.read();
    const busy = pgPool().totalCount - pgPool().idleCount;
    expect(busy).toBeGreaterThan(0);
    // What the 5-minute idle timeout does: the server ends each cursor's session once it waits for its
    // reader (one still reading ahead is ended on a later try).
    await until(
      async () => {
        await db.$queryRaw`
          SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE state = 'idle in transaction' AND query LIKE '%status_log%' AND xact_start >= ${started}`;
        return pgPool().totalCount === pgPool().idleCount;
      },
      10_000,
      "both downloads' connections given back",
    );
    // Nor do they count against the person any more, though their responses were never cancelled.
    for (const again of [
      await statusLogStream(connector.id, {}, { person: "gone" }),
      await statusLogStream(connector.id, {}, { person: "gone" }),
    ])
      await again.cancel();
    // What was read ahead may still come; each download then fails, never ending as if complete.
    for (const reader of [stalled, stalledToo]) {
      const readToEnd = async () => {
        while (!(await reader.read()).done);
      };
      await expect(readToEnd()).rejects.toThrow();
    }
    expect(pgPool().idleCount).toBe(pgPool().totalCount);
  });

  it("lets one person run two downloads at once, never all the connections, and counts one out when it ends", async () => {
    const connector = await db.connector.create({ data: { name: `log-person-${Date.now()}`, createdBy: "test" } });
    const first = (await statusLogStream(connector.id, {}, { person: "reader-1" })).getReader();
    const second = (await statusLogStream(connector.id, {}, { person: "reader-1" })).getReader();
    await expect(statusLogStream(connector.id, {}, { person: "reader-1" })).rejects.toThrow(
      "You already have 2 downloads running (status logs or reconciliation reports). Let one finish, or cancel it, and try again.",
    );
    // Someone else is not held back by reader-1.
    const other = await new Response(await statusLogStream(connector.id, {}, { person: "reader-2" })).text();
    expect(other).toBe(`${STATUS_LOG_HEADER.join(",")}\r\n`);
    await first.cancel();
    // One read to its end counts out as well.
    const third = await new Response(await statusLogStream(connector.id, {}, { person: "reader-1" })).text();
    expect(third).toBe(other);
    await (await statusLogStream(connector.id, {}, { person: "reader-1" })).cancel();
    // A reconciliation report loads the database too: it counts as one of the person's downloads.
    const held = (await statusLogStream(connector.id, {}, { person: "reader-1" })).getReader();
    await expect(reconciliationReport(connector.id, { person: "reader-1", missed: false })).rejects.toThrow(
      StatusLogBusyError,
    );
    await held.cancel();
    expect(await reconciliationReport(connector.id, { person: "reader-1", missed: true })).toMatch(/^\S.*\r\n$/);
    await second.cancel();
    expect(pgPool().idleCount).toBe(pgPool().totalCount);
  });

  it("tells a download that cannot start that every connection is in use, and starts it once one is given back", async () => {
    const connector = await db.connector.create({ data: { name: `log-busy-${Date.now()}`, createdBy: "test" } });
    // Readers that stopped reading: each holds a connection until it is cancelled or idle for 5 minutes.
    const stalled = await Promise.all(
      Array.from({ length: pgPool().options.max }, async () => (await statusLogStream(connector.id, {})).getReader()),
    );
    const started = Date.now();
    await expect(statusLogStream(connector.id, {})).rejects.toThrow(StatusLogBusyError);
    expect(Date.now() - started).toBeGreaterThanOrEqual(9_000); // it waited for a connection first
    await stalled.pop()!.cancel();
    const text = await new Response(await statusLogStream(connector.id, {})).text();
    expect(text).toBe(`${STATUS_LOG_HEADER.join(",")}\r\n`);
    for (const reader of stalled) await reader.cancel();
    expect(pgPool().idleCount).toBe(pgPool().totalCount);
  }, 30_000);
});
