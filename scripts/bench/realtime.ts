// `npm run bench -- --only realtime`: capture-to-mailbox delay of real-time capture (the Datahose) at a
// steady rate of live messages. The Symphony sandbox generates the traffic into random conversations
// of the pod (its admin API, PUT /sandbox/datahose); one in-process worker captures and imports.
// Delay of an item = when it was created in the mailbox (ImportItem.importedAt) - when Symphony says
// the message was sent (SourceMessage.sentAt).
import { setTimeout as sleep } from "node:timers/promises";
import { db } from "../../lib/db";
import { startWorker, stopJobQueue } from "../../lib/jobs";
import { benchConnector } from "./pipeline";
import type { SandboxHost } from "./sandboxes";
import { fmt, printTable } from "./table";

export type RealtimeCase = {
  caDir: string;
  storageConnectionString: string;
  /** Live messages per second, and for how long. */
  rate: number;
  seconds: number;
  users: number;
  log?: (line: string) => void;
};

export type RealtimeFigures = {
  messages: number;
  items: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  /** Sent -> in the ledger (captured and staged), p95: the rest of the delay is the import. */
  ledgerP95: number;
  /** Seconds from the end of the traffic until the last item was in its mailbox. */
  drainSeconds: number;
};

const P95_TARGET_S = 60;
const P95_GOAL_S = 10;

export async function benchRealtime(host: SandboxHost, options: RealtimeCase): Promise<RealtimeFigures> {
  const pair = await host.start({
    seed: `realtime-${options.rate}`,
    users: options.users,
    messages: 100,
    caDir: options.caDir,
  });
  const { connector, environment } = await benchConnector(pair, options.storageConnectionString);
  await db.connector.update({ where: { id: connector.id }, data: { sourceKind: "DATAHOSE" } });
  const admin = (body: object) =>
    fetch(`${pair.symphony.podUrl}/sandbox/datahose`, { method: "PUT", body: JSON.stringify(body) });
  await admin({ readTimeoutMs: 1_000 });
  const worker = await startWorker({ concurrency: 4, environment, capture: { scanSeconds: 1 } });
  try {
    // The feed exists from its first read on.
    for (;;) {
      const lease = await db.captureLease.findUnique({ where: { connectorId: connector.id } });
      if (lease?.lastReadAt) break;
      await sleep(200);
    }
    options.log?.(`realtime: ${options.rate} messages/s for ${options.seconds} s`);
    await admin({ messagesPerSecond: options.rate });
    await sleep(options.seconds * 1000);
    await admin({ messagesPerSecond: 0 });
    const trafficEnded = Date.now();
    // Every message sent captured, and every item imported (or 5 minutes).
    const { stats } = (await (await fetch(`${pair.symphony.podUrl}/sandbox/datahose`)).json()) as {
      stats: { published: number };
    };
    for (const deadline = Date.now() + 300_000; Date.now() < deadline; await sleep(500)) {
      const captured = await db.sourceMessage.count({ where: { connectorId: connector.id } });
      const pending = await db.importItem.count({ where: { connectorId: connector.id, status: "PENDING" } });
      if (captured >= stats.published && pending === 0) break;
    }
    const drainSeconds = (Date.now() - trafficEnded) / 1000;
    const [ledger] = await db.$queryRaw<Array<{ p95: number }>>`
      SELECT percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM "createdAt" - "sentAt")::float8) AS p95
      FROM "SourceMessage" WHERE "connectorId" = ${connector.id}::uuid`;
    const [row] = await db.$queryRaw<
      Array<{ items: bigint; messages: bigint; p50: number; p95: number; p99: number; max: number }>
    >`
      SELECT count(*) AS items, count(DISTINCT m.id) AS messages,
             percentile_cont(0.5) WITHIN GROUP (ORDER BY d) AS p50,
             percentile_cont(0.95) WITHIN GROUP (ORDER BY d) AS p95,
             percentile_cont(0.99) WITHIN GROUP (ORDER BY d) AS p99,
             max(d)::float8 AS max
      FROM (SELECT i."sourceMessageId", extract(epoch FROM i."importedAt" - m."sentAt")::float8 AS d
            FROM "ImportItem" i JOIN "SourceMessage" m ON m.id = i."sourceMessageId"
            WHERE i."connectorId" = ${connector.id}::uuid AND i.status = 'IMPORTED') AS delays
      JOIN "SourceMessage" m ON m.id = delays."sourceMessageId"`;
    return {
      messages: Number(row?.messages ?? 0),
      items: Number(row?.items ?? 0),
      p50: row?.p50 ?? NaN,
      p95: row?.p95 ?? NaN,
      p99: row?.p99 ?? NaN,
      max: row?.max ?? NaN,
      ledgerP95: ledger?.p95 ?? NaN,
      drainSeconds,
    };
  } finally {
    await worker.stop();
    // The scheduler's requests open the process-wide queue too.
    await stopJobQueue();
    await host.close(pair.id);
  }
}

export async function realtimeSection(
  common: Pick<RealtimeCase, "caDir" | "storageConnectionString" | "log"> & { host: SandboxHost },
  options: { rate: number; seconds: number; users: number },
) {
  const f = await benchRealtime(common.host, { ...common, ...options });
  printTable(
    `Real-time capture (Datahose): ${options.rate} messages/s for ${options.seconds} s into ${options.users} people's conversations`,
    [
      { figure: "messages captured and imported", value: fmt(f.messages) },
      { figure: "items imported", value: fmt(f.items) },
      { figure: "capture-to-mailbox delay p50", value: `${fmt(f.p50, 1)} s` },
      {
        figure: "capture-to-mailbox delay p95",
        value: `${fmt(f.p95, 1)} s`,
        target: `<= ${P95_TARGET_S} s (goal ${P95_GOAL_S} s)`,
        met: f.p95 <= P95_TARGET_S,
      },
      { figure: "capture-to-mailbox delay p99", value: `${fmt(f.p99, 1)} s` },
      { figure: "capture-to-mailbox delay max", value: `${fmt(f.max, 1)} s` },
      { figure: "of which sent to ledger (capture) p95", value: `${fmt(f.ledgerP95, 1)} s` },
      { figure: "last item in its mailbox after the traffic ended", value: `${fmt(f.drainSeconds, 1)} s` },
    ],
  );
}
