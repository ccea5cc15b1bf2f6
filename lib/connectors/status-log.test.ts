import { parse as parseCsv } from "csv-parse/sync";
import { afterAll, describe, expect, it } from "vitest";
import { db, pgPool } from "@/lib/db";
import { csvLine } from "./csv";
import { STATUS_LOG_HEADER, statusLogFilterSchema, statusLogStream, type StatusLogFilter } from "./status-log";

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
  afterAll(() => db.connector.deleteMany({ where: { name } }));

  type Row = Record<string, string>;
  const csv = async (connectorId: string, filter: StatusLogFilter = {}) =>
    new Response(statusLogStream(connectorId, filter)).text();
  const rows = async (connectorId: string, filter: StatusLogFilter = {}) =>
    parseCsv<Row>(await csv(connectorId, filter), { columns: true });

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
    // Hostile values: a formula, a bidi override, quotes and separators, an id starting with "-".
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
      `2026-11-01T10:00:00.000Z,-abc_def==,"ROOM s,1","'=HYPERLINK(""x"")\\u202E",a@bank.example,IMPORTED,,1234,-AAMk=,"export; 2026-11-01.zip",${first!.id},2026-11-01T10:05:00.000Z`,
    );
    expect(lines[2]).toBe(
      `2026-11-01T10:00:00.000Z,-abc_def==,"ROOM s,1","'=HYPERLINK(""x"")\\u202E",b@bank.example,SKIPPED," no mailbox; ok",1234,,"export; 2026-11-01.zip",,`,
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
      ...edgy.map(() => "-edge+/="),
      ...messages.map((m) => m.messageId),
    ]);
    expect(await rows(connector.id, { run: second!.id })).toHaveLength(2_600);
    expect(await rows(connector.id, { run: first!.id, status: "IMPORTED" })).toHaveLength(1);
    expect(await rows(connector.id, { from: "2026-11-03", to: "2026-11-03" })).toHaveLength(2_600);
    expect(await rows(connector.id, { from: "2026-11-01", to: "2026-11-02", status: "PENDING" })).toHaveLength(1_300);
    expect(await rows(connector.id, { to: "2026-10-31" })).toEqual([]);

    // A download stopped half way (the browser went away) gives its database connection back.
    const reader = statusLogStream(connector.id, {}).getReader();
    await reader.read(); // the header
    expect((await reader.read()).value?.length).toBeGreaterThan(0);
    await reader.cancel();
    expect(pgPool().totalCount).toBeGreaterThan(0);
    expect(pgPool().idleCount).toBe(pgPool().totalCount);
  });
});
