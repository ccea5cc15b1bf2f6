// `npm run bench -- --kill N`: one import run worked by `scripts/worker.ts` processes (as `npm start`
// runs them) that are SIGKILLed N times while they collect and import, each time replaced by a new
// one (`--kill 0`: the finishing workers do the whole run, for their memory and rate; `--workers N`
// finishes with N processes, 1 by default); then the ledger and the Microsoft 365 sandbox's mailboxes
// are compared: every (message, mailbox) pair the ledger owes must be in its mailbox exactly once.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { db } from "@/lib/db";
import { requestImport, stopJobQueue } from "@/lib/jobs";
import { itemKey } from "@/lib/pipeline";
import { fastRecovery, spawnWorker, waitForRunEnd, type WorkerProcess } from "@/lib/testing";
import { seededRandom } from "../../sandbox/org";
import { benchConnector } from "./pipeline";
import { cpuByGroup, cpuDelta, type CpuGroups } from "./cpu";
import { flatnessOf, type RssFlatness } from "./rss";
import type { M365Stats, MailboxUsage, SandboxHost, SandboxPairOptions } from "./sandboxes";
import { buildWorker } from "../worker-build";

export type KillFigures = {
  kills: { collect: number; import: number };
  runStatus: string;
  totalMs: number;
  readableMessages: number;
  messagesCollected: number;
  /** Items the ledger owes a mailbox (every one not SKIPPED). */
  itemsDue: number;
  itemsImported: number;
  itemsFailed: number;
  /** What each mailbox took of Outlook's limits, as the sandbox counted it: they set the run's least length. */
  mailboxUsage: MailboxUsage[];
  /** Graph requests the sandbox refused with 429, by the limit they met. */
  throttled: M365Stats["throttled"];
  /** Pairs the ledger owes that no mailbox item carries. */
  missing: number;
  /** (mailbox, key) pairs held more than once. */
  duplicated: string[];
  /** Mailbox items the ledger does not owe. */
  unexpected: number;
  /** Resident set size of the worker processes (threads included), sampled every second. */
  workerRss: { peak: number; last: RssFlatness };
  /** CPU seconds from the run's request to its end, by process group. */
  cpu: CpuGroups;
};

/** A process's resident set size in bytes (all its threads), or 0 once it has exited. */
async function rssOf(pid: number | undefined): Promise<number> {
  if (pid === undefined) return 0;
  const status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => "");
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) * 1024;
}

export async function benchKills(
  host: SandboxHost,
  options: {
    sandbox: Omit<SandboxPairOptions, "caDir">;
    caDir: string;
    storageConnectionString: string;
    kills: number;
    /** Worker processes that finish the run once the kills are over. */
    workers: number;
    log: (line: string) => void;
  },
): Promise<KillFigures> {
  const pair = await host.start({ ...options.sandbox, caDir: options.caDir });
  // The worker exactly as npm start runs it.
  const compiled = await buildWorker(path.resolve(import.meta.dirname, "../.."));
  let worker: WorkerProcess | undefined;
  let finishers: WorkerProcess[] = [];
  try {
    const { connector, environment } = await benchConnector(pair, options.storageConnectionString);
    // The finishing workers are labelled when they start; the killed ones were reaped by this process,
    // so their CPU counts in its own group.
    const names = new Map([[host.pid, "sandboxes"]]);
    const cpuBefore = cpuByGroup(names);
    const started = performance.now();
    const { runId } = await requestImport({ connectorId: connector.id, trigger: "MANUAL", requestedBy: "bench" });
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      NODE_ENV: "production",
      LOG_LEVEL: "error",
      DATABASE_URL: process.env.DATABASE_URL,
      SECRETS_KEY: process.env.SECRETS_KEY,
      NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS,
      AZURE_STORAGE_CONNECTION_STRING: options.storageConnectionString,
      STAGING_CONTAINER: environment.staging.containerName,
      ENTRA_CLIENT_ID: environment.m365.clientId,
      ENTRA_CLIENT_SECRET: environment.m365.clientSecret,
      ENTRA_AUTHORITY_HOST: environment.m365.authorityHost,
      GRAPH_BASE_URL: environment.m365.graphBaseUrl,
      SYMPHONY_ALLOW_PRIVATE_HOSTS: "true",
      WORKER_CONCURRENCY: "2",
      ...fastRecovery,
      // As deployed: an item may wait minutes for its mailbox's Graph budget (10,000 requests per 10
      // minutes), which the tests' 20 s would count as a failed attempt.
      WORKER_ATTEMPT_TIMEOUT_SECONDS: "1800",
    };
    // `npm run bench -- --cpu-prof`: each worker writes its profile when it exits (not when SIGKILLed).
    const profile = process.env.BENCH_CPU_PROF_DIR;
    const spawn = () =>
      spawnWorker(env, { compiled, nodeArgs: profile ? ["--cpu-prof", `--cpu-prof-dir=${profile}`] : [] });
    const random = seededRandom("bench-kills");
    const collected = () => db.sourceMessage.count({ where: { connectorId: connector.id } });
    // SKIPPED items are written at collect: only IMPORTED and FAILED ones are the import's.
    const done = () =>
      db.importItem.count({ where: { connectorId: connector.id, status: { in: ["IMPORTED", "FAILED"] } } });
    const ended = async () =>
      !["QUEUED", "RUNNING"].includes((await db.importRun.findUniqueOrThrow({ where: { id: runId } })).status);
    // Items are imported while collect goes on: a kill is in collect until every readable message is in.
    const readable = (await host.delivery(pair.id)).readableMessages;
    const kills = { collect: 0, import: 0 };
    let peakRss = 0;
    while (kills.collect + kills.import < options.kills && !(await ended())) {
      worker = spawn();
      // Each worker first makes some progress (after the killed one's claims and job expired), then
      // dies at a seeded moment 0.5-5 s later. The first 40 % of the kills aim at collect, the others
      // wait for the import to be going on.
      const atImport = kills.collect + kills.import >= Math.ceil(options.kills * 0.4);
      const progress = async () => (atImport ? 0 : await collected()) + (await done());
      const before = await progress();
      while ((await progress()) === before && !(await ended())) await sleep(200);
      await sleep(500 + random() * 4500);
      peakRss = Math.max(peakRss, await rssOf(worker.child.pid));
      const phase = (await collected()) < readable ? "collect" : "import";
      await worker.kill("SIGKILL");
      kills[phase] += 1;
      options.log(`  kill ${kills.collect + kills.import}: ${await collected()} messages, ${await done()} items done`);
    }
    finishers = Array.from({ length: options.workers }, () => spawn());
    for (const finisher of finishers) names.set(finisher.child.pid!, "worker");
    // Each finishing worker's RSS every second; flatness is judged on the largest of them.
    const series = finishers.map((): number[] => []);
    const sample = setInterval(
      () =>
        finishers.forEach(
          (finisher, n) => void rssOf(finisher.child.pid).then((rss) => rss > 0 && series[n]!.push(rss)),
        ),
      1000,
    );
    const allExited = Promise.all(finishers.map((finisher) => finisher.exited)).then(() => {
      throw new Error(`every worker process exited before the run ended:\n${finishers[0]!.output()}`);
    });
    const run = await Promise.race([waitForRunEnd(runId, 6 * 3600_000), allExited]).finally(() =>
      clearInterval(sample),
    );
    const totalMs = performance.now() - started;
    const { pipeline: bench = 0, ...cpu } = cpuDelta(cpuBefore, cpuByGroup(names));
    await Promise.all(finishers.map((finisher) => finisher.kill("SIGTERM")));
    const lastRss = series
      .map(flatnessOf)
      .reduce((a, b) => (Math.max(b.firstHalf, b.lastHalf) > Math.max(a.firstHalf, a.lastHalf) ? b : a));

    const delivery = await host.delivery(pair.id);
    const { m365 } = await host.stats(pair.id);
    const ledger = await db.$queryRaw<Array<{ messageId: string; due: bigint }>>`
      SELECT m."messageId", count(*) FILTER (WHERE i.status <> 'SKIPPED') AS due
      FROM "SourceMessage" m JOIN "ImportItem" i ON i."sourceMessageId" = m.id
      WHERE m."connectorId" = ${connector.id}::uuid GROUP BY m."messageId"`;
    let missing = 0;
    let unexpected = 0;
    const owed = new Set<string>();
    for (const row of ledger) {
      const key = itemKey(connector.id, row.messageId);
      owed.add(key);
      const held = delivery.mailboxesByKey[key] ?? 0;
      missing += Math.max(0, Number(row.due) - held);
      unexpected += Math.max(0, held - Number(row.due));
    }
    for (const [key, held] of Object.entries(delivery.mailboxesByKey)) if (!owed.has(key)) unexpected += held;
    const items = await db.importItem.groupBy({ by: ["status"], where: { connectorId: connector.id }, _count: true });
    const count = (status: string) => items.find((row) => row.status === status)?._count ?? 0;
    return {
      kills,
      runStatus: run.status,
      totalMs,
      readableMessages: delivery.readableMessages,
      messagesCollected: await collected(),
      itemsDue: count("IMPORTED") + count("FAILED") + count("PENDING"),
      itemsImported: count("IMPORTED"),
      itemsFailed: count("FAILED"),
      mailboxUsage: delivery.mailboxUsage,
      throttled: m365.throttled,
      missing,
      duplicated: delivery.duplicated,
      unexpected,
      workerRss: { peak: Math.max(peakRss, lastRss.firstHalf, lastRss.lastHalf), last: lastRss },
      cpu: { ...cpu, [options.kills > 0 ? "bench and killed workers" : "bench"]: bench },
    };
  } finally {
    await Promise.all([...(worker ? [worker] : []), ...finishers].map((process) => process.kill("SIGKILL")));
    await stopJobQueue();
    await host.close(pair.id);
  }
}
