// The dashboard and the status log at scale: a ledger of millions of rows seeded straight into
// PostgreSQL (generate_series, one statement per day of history, on two connections), then the real
// pages timed over HTTP. The counters are filled by the migration's backfill and checked against a
// count of the ledger at the end.
import { readFileSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { cpuByGroup, cpuDelta } from "./cpu";
import type { WebApp } from "./web";

export type LedgerShape = {
  connectors: number;
  /** ImportItem rows in all (five mailboxes per message). */
  ledgerRows: number;
  /** Rows of the first connector ("bench-0001"), the one whose status log is downloaded. */
  bigConnectorRows: number;
  /** Days of history: one finished run per connector and day. */
  days: number;
};

export type SeededLedger = {
  bigConnectorId: string;
  smallConnectorId: string;
  seedMs: number;
  rows: number;
  countersMatch: boolean;
};

const MAILBOXES = 5;
const COUNTERS_MIGRATION = path.resolve(
  import.meta.dirname,
  "../../prisma/migrations/20261203100000_ledger_counters/migration.sql",
);

export async function seedLedger(databaseUrl: string, shape: LedgerShape, log: (line: string) => void) {
  const started = Date.now();
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const today = new Date();
  today.setUTCHours(0, 0, 0, 0);
  const firstDay = new Date(today.getTime() - (shape.days - 1) * 86_400_000);
  try {
    const bigMessages = Math.round(shape.bigConnectorRows / MAILBOXES);
    const otherMessages =
      shape.connectors > 1
        ? Math.round((shape.ledgerRows - shape.bigConnectorRows) / MAILBOXES / (shape.connectors - 1))
        : 0;
    await client.query(
      `INSERT INTO "Connector" (id, name, status, "wizardStep", "createdBy", "updatedAt", "sourceKind", "podUrl", "tenantId", "lastRunAt", "nextRunAt")
       SELECT gen_random_uuid(), format('bench-%s', lpad(g::text, 4, '0')), 'ACTIVE', 6, 'bench', now(), 'CONVERSATIONS',
              'https://bench.symphony.com', '00000000-0000-0000-0000-00000000be0c', now(), now() + interval '1 day'
       FROM generate_series(1, $1::int) AS g`,
      [shape.connectors],
    );
    await client.query(
      `CREATE TABLE bench_plan AS
       SELECT id AS "connectorId", CASE WHEN name = 'bench-0001' THEN $1::bigint ELSE $2::bigint END AS messages
       FROM "Connector" WHERE name LIKE 'bench-%'`,
      [bigMessages, otherMessages],
    );
    await client.query(
      `INSERT INTO "ImportRun" (id, "connectorId", trigger, status, "startedAt", "finishedAt", "messagesCollected", "itemsImported")
       SELECT gen_random_uuid(), p."connectorId", 'SCHEDULE', 'SUCCEEDED', $1::timestamp + d * interval '1 day' + interval '2 hours',
              $1::timestamp + d * interval '1 day' + interval '2 hours 10 minutes', p.messages / $2::int, p.messages * 4 / $2::int
       FROM bench_plan AS p CROSS JOIN generate_series(0, $2::int - 1) AS d`,
      [firstDay.toISOString(), shape.days],
    );
    await client.query(
      `INSERT INTO "AuditEvent" ("connectorId", actor, action, detail, at)
       SELECT p."connectorId", 'bench@bank.example', 'connector.updated', '{}'::jsonb, now() - g * interval '1 hour'
       FROM bench_plan AS p CROSS JOIN generate_series(1, 10) AS g`,
    );
    // Bulk loading: the ledger's secondary indexes are built once at the end (far cheaper than keeping
    // them row by row), foreign keys and triggers are off while it loads (session_replication_role),
    // and the counters are then filled by the migration's own backfill.
    const indexes = await client.query<{ indexname: string; indexdef: string }>(
      `SELECT indexname, indexdef FROM pg_indexes
       WHERE tablename IN ('ImportItem', 'SourceMessage') AND indexname NOT LIKE '%\\_pkey'`,
    );
    for (const { indexname } of indexes.rows) await client.query(`DROP INDEX "${indexname}"`);
    const second = new pg.Client({ connectionString: databaseUrl });
    await second.connect();
    try {
      for (const db of [client, second])
        await db.query(
          "SET synchronous_commit = off; SET session_replication_role = replica; SET maintenance_work_mem = '512MB'",
        );
      let done = 0;
      const seedDays = async (db: pg.Client, parity: number) => {
        for (let day = parity; day < shape.days; day += 2) {
          await db.query(DAY_SQL, [day, shape.days, new Date(firstDay.getTime() + day * 86_400_000).toISOString()]);
          done += 1;
          if (done % 10 === 0)
            log(`  seeded ${done} of ${shape.days} days (${Math.round((Date.now() - started) / 1000)} s)`);
        }
      };
      await Promise.all([seedDays(client, 0), seedDays(second, 1)]);
      log(`  building ${indexes.rows.length} indexes (${Math.round((Date.now() - started) / 1000)} s)`);
      const definitions = indexes.rows.map((row) => row.indexdef);
      const build = async (db: pg.Client) => {
        for (let next = definitions.shift(); next; next = definitions.shift()) await db.query(next);
      };
      await Promise.all([build(client), build(second)]);
      await client.query("SET session_replication_role = DEFAULT");
    } finally {
      await second.end();
    }
    await client.query("DROP TABLE bench_plan");
    log(`  counters from the migration's backfill (${Math.round((Date.now() - started) / 1000)} s)`);
    const migration = readFileSync(COUNTERS_MIGRATION, "utf8");
    // The backfill counts every connector again, those of the bench's earlier sections included.
    await client.query(`TRUNCATE "ConnectorCount", "ConnectorDayCount"`);
    await client.query(migration.slice(migration.indexOf("-- Backfill")));
    log(`  VACUUM ANALYZE (${Math.round((Date.now() - started) / 1000)} s)`);
    await client.query(
      `VACUUM ANALYZE "ImportItem", "SourceMessage", "ImportRun", "ConnectorCount", "ConnectorDayCount", "AuditEvent"`,
    );
    // Written out now, so that the checkpoint of the load does not fall into the timings.
    await client.query("CHECKPOINT");
    const seedMs = Date.now() - started;
    const ids = await client.query<{ id: string; name: string }>(
      `SELECT id, name FROM "Connector" WHERE name IN ('bench-0001', 'bench-0002')`,
    );
    const idOf = (name: string) => ids.rows.find((row) => row.name === name)?.id;
    const rows = await client.query<{ n: string }>(
      `SELECT sum("itemsPending" + "itemsImported" + "itemsSkipped" + "itemsFailed") AS n FROM "ConnectorCount"`,
    );
    log("  comparing the counters with a count of the ledger");
    const mismatches = await client.query<{ n: string }>(COUNTERS_DIFFER_SQL);
    return {
      bigConnectorId: idOf("bench-0001")!,
      smallConnectorId: idOf("bench-0002") ?? idOf("bench-0001")!,
      seedMs,
      rows: Number(rows.rows[0]?.n ?? 0),
      countersMatch: Number(mismatches.rows[0]?.n) === 0,
    } satisfies SeededLedger;
  } finally {
    await client.end();
  }
}

/**
 * One day of every connector: its messages (the day's share of the connector's total) and five ledger
 * rows each, 90 % imported, 6 % skipped, 2 % failed, 2 % pending, under that day's run.
 */
const DAY_SQL = `
  WITH plan AS (
    SELECT p."connectorId", r.id AS "runId",
           (p.messages * ($1::int + 1)) / $2::int - (p.messages * $1::int) / $2::int AS today
    FROM bench_plan AS p
    JOIN "ImportRun" AS r ON r."connectorId" = p."connectorId" AND r."startedAt" = $3::timestamp + interval '2 hours'
  ), message AS (
    INSERT INTO "SourceMessage" ("connectorId", "messageId", "streamId", "streamType", "sentAt", "senderUserId",
                                 "senderEmail", participants, "blobName", "sizeBytes", "runId")
    SELECT plan."connectorId", format('d%s-%s', $1::int, g), format('stream-%s', g % 40), 'ROOM',
           $3::timestamp + (g % 7200) * interval '1 second', (g % 97)::text, format('user%s@bank.example', g % 97),
           '{}', format('bench/%s/%s', $1::int, g), 2000 + g % 5000, plan."runId"
    FROM plan CROSS JOIN LATERAL generate_series(1, plan.today) AS g
    RETURNING id, "connectorId", "runId", "sentAt"
  )
  INSERT INTO "ImportItem" ("connectorId", "sourceMessageId", mailbox, status, reason, attempts, "graphMessageId",
                            "runId", "updatedAt", "importedAt")
  SELECT message."connectorId", message.id, format('user%s@bank.example', k), pick.status::"ItemStatus",
         CASE pick.status WHEN 'SKIPPED' THEN 'external participant (Other Bank)' WHEN 'FAILED' THEN 'mailbox full' END,
         1, CASE WHEN pick.status = 'IMPORTED' THEN format('AAMkAGI2-%s-%s', message.id, k) END, message."runId",
         message."sentAt" + interval '1 hour', CASE WHEN pick.status = 'IMPORTED' THEN message."sentAt" + interval '1 hour' END
  FROM message CROSS JOIN generate_series(1, ${MAILBOXES}) AS k
  CROSS JOIN LATERAL (
    SELECT CASE WHEN (message.id * 5 + k) % 100 < 90 THEN 'IMPORTED' WHEN (message.id * 5 + k) % 100 < 96 THEN 'SKIPPED'
                WHEN (message.id * 5 + k) % 100 < 98 THEN 'FAILED' ELSE 'PENDING' END AS status
  ) AS pick`;

/** Connectors whose counters differ from a count of their ledger (0 when the triggers kept them exact). */
const COUNTERS_DIFFER_SQL = `
  WITH ledger AS (
    SELECT "connectorId", count(*) FILTER (WHERE status = 'PENDING') AS pending, count(*) FILTER (WHERE status = 'IMPORTED') AS imported,
           count(*) FILTER (WHERE status = 'SKIPPED') AS skipped, count(*) FILTER (WHERE status = 'FAILED') AS failed
    FROM "ImportItem" GROUP BY 1
  ), days AS (
    SELECT "connectorId", "importedAt"::date AS day, count(*) AS imported FROM "ImportItem" WHERE status = 'IMPORTED' AND "importedAt" IS NOT NULL GROUP BY 1, 2
  )
  SELECT (SELECT count(*) FROM ledger FULL JOIN "ConnectorCount" AS c USING ("connectorId")
          WHERE (ledger.pending, ledger.imported, ledger.skipped, ledger.failed) IS DISTINCT FROM
                (c."itemsPending", c."itemsImported", c."itemsSkipped", c."itemsFailed")
            AND (ledger."connectorId" IS NOT NULL OR (c."itemsPending", c."itemsImported", c."itemsSkipped", c."itemsFailed") <> (0, 0, 0, 0)))
       + (SELECT count(*) FROM days FULL JOIN (SELECT * FROM "ConnectorDayCount" WHERE "itemsImported" <> 0) AS d USING ("connectorId", day)
          WHERE days.imported IS DISTINCT FROM d."itemsImported") AS n`;

export type PageTiming = {
  name: string;
  p50: number;
  p95: number;
  bytes: number;
  cpuMs: { web: number; postgres: number };
};

/**
 * Times `requests` loads of each page, one at a time, as a signed-in admin, after every page has been
 * loaded a few times (a running server has compiled its code paths; the first page timed must not pay
 * for the others' warm-up).
 */
export async function timePages(
  web: WebApp,
  pages: Array<{ name: string; path: string; mustContain: string }>,
  requests: number,
) {
  const timings: PageTiming[] = [];
  const loader = (page: (typeof pages)[number]) => async () => {
    const started = performance.now();
    const response = await fetch(`${web.url}${page.path}`, { headers: { cookie: web.cookie }, redirect: "manual" });
    const body = await response.text();
    const ms = performance.now() - started;
    if (response.status !== 200 || !body.includes(page.mustContain))
      throw new Error(`${page.path} answered ${response.status} without "${page.mustContain}"`);
    return { ms, bytes: body.length };
  };
  for (let round = 0; round < 5; round++) for (const page of pages) await loader(page)();
  for (const page of pages) {
    const load = loader(page);
    const samples: number[] = [];
    let bytes = 0;
    const cpuBefore = cpuOf(web);
    for (let i = 0; i < requests; i++) {
      const sample = await load();
      samples.push(sample.ms);
      bytes = sample.bytes;
    }
    const cpu = cpuDelta(cpuBefore, cpuOf(web));
    timings.push({
      name: page.name,
      p50: percentile(samples, 0.5),
      p95: percentile(samples, 0.95),
      bytes,
      cpuMs: { web: ((cpu.web ?? 0) * 1000) / requests, postgres: ((cpu.postgres ?? 0) * 1000) / requests },
    });
  }
  return timings;
}

function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
}

export type LogDownload = {
  rows: number;
  bytes: number;
  ms: number;
  rssBefore: number;
  peakRss: number;
  /** Peak RSS over the first and the second half of the download. */
  halves: [number, number];
  /** CPU seconds of the web process and of PostgreSQL during the download. */
  cpu: { web: number; postgres: number };
};

/** CPU seconds so far of the web app's processes and of PostgreSQL. */
function cpuOf(web: WebApp) {
  return cpuByGroup(new Map([[web.pid, "web"]]));
}

/** Downloads a connector's whole status log once, counting its lines, with the web process's RSS and CPU sampled. */
export async function downloadLog(
  web: WebApp,
  connectorId: string,
  encoding: "gzip" | "identity",
): Promise<LogDownload> {
  const rssBefore = web.rss();
  const samples: number[] = [];
  const sampler = setInterval(() => samples.push(web.rss()), 200);
  const cpuBefore = cpuOf(web);
  try {
    const started = performance.now();
    // fetch undoes a gzip answer itself (here, not in the web process).
    const response = await fetch(`${web.url}/api/connectors/${connectorId}/log`, {
      headers: { cookie: web.cookie, "accept-encoding": encoding },
    });
    if (response.status !== 200 || !response.body) throw new Error(`the status log answered ${response.status}`);
    let lines = 0;
    let bytes = 0;
    const reader = response.body.getReader();
    for (let read = await reader.read(); !read.done; read = await reader.read()) {
      const chunk = read.value;
      bytes += chunk.length;
      for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) lines += 1;
    }
    const ms = performance.now() - started;
    const cpu = cpuDelta(cpuBefore, cpuOf(web));
    const half = Math.floor(samples.length / 2);
    const peak = (part: number[]) => Math.max(rssBefore, ...part);
    return {
      rows: lines - 1,
      bytes,
      ms,
      rssBefore,
      peakRss: peak(samples),
      halves: [peak(samples.slice(0, half)), peak(samples.slice(half))],
      cpu: { web: cpu.web ?? 0, postgres: cpu.postgres ?? 0 },
    };
  } finally {
    clearInterval(sampler);
  }
}
