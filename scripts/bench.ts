/**
 * `npm run bench`: the import engine's performance report (not a test). Starts its own PostgreSQL
 * and Azurite in a temporary folder and the Symphony and Microsoft 365 sandboxes in a child process,
 * then measures the full pipeline (the REST path and Content Export side by side), conversion alone,
 * one hot mailbox at the Graph ceiling, and Content Export's parsing, decryption and unzip per core.
 *
 *   npm run bench -- [--messages 20000] [--users 500] [--export-messages N]
 *                    [--only pipeline|conversion|hot-mailbox|content-export]
 *                    [--parallelism 8] [--batch-size 32] [--hot-seconds 30] [--cpu-prof] [--pending-index]
 *                    [--only dashboard|log|ledger] [--connectors 1000] [--ledger-rows 10000000] [--log-rows 2000000] [--days 90]
 * The same options as environment variables: BENCH_MESSAGES, BENCH_USERS, BENCH_ONLY, ...
 * --export-messages: the org size of the Content Export run (default --messages, at most 3,000: at the
 * default size a second full run would double the bench's time). --only content-export runs that
 * end-to-end run and the per-core figures.
 * --kill N: one run worked by `scripts/worker.ts` processes SIGKILLed N times while they collect and
 * import, then the ledger and the mailboxes compared (missing, duplicated), and the worker processes'
 * memory reported; runs only that section. --kill 0: one worker process does the whole run.
 * --workers N: with --kill, the worker processes that finish the run (default 1; `--kill 0 --workers 2`
 * measures two processes against one).
 * --no-attachments: with --kill, no message carries a file (every ninth does otherwise). For runs whose
 * staged bundles and mailbox copies would not fit on this machine's disk: a 1,000,000-message run with
 * them needs about 120 GB (see docs/SCALING.md).
 * --pending-index is an experiment: it adds the partial index recommended for the claim query to the
 * benchmark's own database (not a migration of the product) to measure what it would gain.
 * --only dashboard / --only log seed a ledger of --ledger-rows rows over --connectors connectors straight
 * into PostgreSQL (--log-rows of them in one connector) and time the dashboard and flyout, or that
 * connector's status-log download, over HTTP against `next start` (built first if sources changed);
 * --log-rows defaults to a fifth of --ledger-rows. --only ledger does both over one seeded ledger.
 * A smaller --ledger-rows (e.g. 500000) makes a quick run.
 * --only realtime: capture-to-mailbox delay of real-time capture (Datahose) at --realtime-rate messages a
 * second (default 50) for --realtime-seconds (default 60), in --realtime-users people's conversations (default 60).
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { parseArgs } from "node:util";
import { z } from "zod";
import { ensureSandboxCa } from "../sandbox/m365/ca";

const root = path.resolve(import.meta.dirname, "..");
const caDir = path.join(root, ".data/bench/m365-ca");

const { values } = parseArgs({
  options: {
    messages: { type: "string", default: process.env.BENCH_MESSAGES ?? "20000" },
    users: { type: "string", default: process.env.BENCH_USERS ?? "500" },
    "export-messages": { type: "string", default: process.env.BENCH_EXPORT_MESSAGES },
    only: { type: "string", default: process.env.BENCH_ONLY },
    parallelism: { type: "string", default: process.env.BENCH_PARALLELISM },
    "batch-size": { type: "string", default: process.env.BENCH_BATCH_SIZE },
    "hot-seconds": { type: "string", default: process.env.BENCH_HOT_SECONDS ?? "30" },
    "cpu-prof": { type: "boolean", default: false },
    "pending-index": { type: "boolean", default: process.env.BENCH_PENDING_INDEX === "1" },
    kill: { type: "string", default: process.env.BENCH_KILL },
    "no-attachments": { type: "boolean", default: process.env.BENCH_NO_ATTACHMENTS === "1" },
    workers: { type: "string", default: process.env.BENCH_WORKERS ?? "1" },
    connectors: { type: "string", default: process.env.BENCH_CONNECTORS ?? "1000" },
    "ledger-rows": { type: "string", default: process.env.BENCH_LEDGER_ROWS ?? "10000000" },
    "log-rows": { type: "string", default: process.env.BENCH_LOG_ROWS },
    days: { type: "string", default: process.env.BENCH_DAYS ?? "90" },
    "realtime-rate": { type: "string", default: process.env.BENCH_REALTIME_RATE ?? "50" },
    "realtime-seconds": { type: "string", default: process.env.BENCH_REALTIME_SECONDS ?? "60" },
    "realtime-users": { type: "string", default: process.env.BENCH_REALTIME_USERS ?? "60" },
  },
});
const positive = z.coerce.number().int().min(1);
const settings = z
  .object({
    messages: positive,
    users: positive.min(2),
    exportMessages: positive.optional(),
    only: z
      .enum(["pipeline", "conversion", "hot-mailbox", "content-export", "dashboard", "log", "ledger", "realtime"])
      .optional(),
    parallelism: positive.optional(),
    batchSize: positive.optional(),
    hotSeconds: positive,
    kill: z.coerce.number().int().min(0).optional(),
    attachments: z.boolean(),
    workers: positive.max(8),
    connectors: positive,
    ledgerRows: positive,
    logRows: positive.optional(),
    days: positive,
    realtimeRate: positive,
    realtimeSeconds: positive,
    realtimeUsers: positive.min(2),
  })
  .parse({
    ...values,
    exportMessages: values["export-messages"],
    attachments: !values["no-attachments"],
    batchSize: values["batch-size"],
    hotSeconds: values["hot-seconds"],
    ledgerRows: values["ledger-rows"],
    logRows: values["log-rows"],
    realtimeRate: values["realtime-rate"],
    realtimeSeconds: values["realtime-seconds"],
    realtimeUsers: values["realtime-users"],
  });
const DEFAULT_EXPORT_MESSAGES_CAP = 3_000;
const exportMessages = settings.exportMessages ?? Math.min(settings.messages, DEFAULT_EXPORT_MESSAGES_CAP);

// msal-node and the Graph client only talk HTTPS: the process must trust the sandbox's local CA from
// its start (NODE_EXTRA_CA_CERTS is read once, at startup), so it runs itself again with it.
if (process.env.BENCH_REEXECUTED !== "1") {
  const ca = ensureSandboxCa(caDir);
  const profiles = path.join(root, ".data/bench/profiles");
  const execArgv = [...process.execArgv, ...(values["cpu-prof"] ? ["--cpu-prof", `--cpu-prof-dir=${profiles}`] : [])];
  const child = spawn(process.execPath, [...execArgv, ...process.argv.slice(1)], {
    stdio: "inherit",
    env: {
      ...process.env,
      BENCH_REEXECUTED: "1",
      NODE_EXTRA_CA_CERTS: ca.caCertPath,
      ...(values["cpu-prof"] ? { BENCH_CPU_PROF_DIR: profiles } : {}),
    },
  });
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => child.kill(signal));
  child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
} else {
  await main();
}

async function main() {
  const { startBenchServices } = await import("./bench/services");
  const services = await startBenchServices(root, { pendingIndex: values["pending-index"] });
  // Set before lib/ reads its configuration (lib/config parses the environment once).
  process.env.DATABASE_URL = services.databaseUrl;
  // The Symphony sandbox listens on loopback.
  process.env.SYMPHONY_ALLOW_PRIVATE_HOSTS = "true";
  process.env.AZURE_STORAGE_CONNECTION_STRING = services.storageConnectionString;
  process.env.SECRETS_KEY = randomBytes(32).toString("base64");
  const { startSandboxHost } = await import("./bench/sandboxes");
  const host = await startSandboxHost();
  const log = (line: string) => console.error(line);
  // Ctrl-C stops the run in progress (the servers are stopped by the finally below or their own exit hooks).
  const interrupted = new AbortController();
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => interrupted.abort());
  try {
    if (values["pending-index"])
      console.log("EXPERIMENT: partial index on pending ImportItems (connectorId, id) added to the benchmark database");
    console.log(
      `Node ${process.version}, ${(await import("node:os")).cpus().length} cores, load ${(await import("node:os"))
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(" ")}`,
    );
    const sections = await import("./bench/sections");
    const runOptions = {
      ...(settings.parallelism ? { parallelism: settings.parallelism } : {}),
      ...(settings.batchSize ? { delivery: { batchSize: settings.batchSize } } : {}),
    };
    const common = {
      host,
      caDir,
      storageConnectionString: services.storageConnectionString,
      runOptions: { ...runOptions, signal: interrupted.signal },
      log,
    };
    // --kill runs only the kill section (and the sections --only names).
    const runs = (section: NonNullable<typeof settings.only>) =>
      (!settings.only && settings.kill === undefined) || settings.only === section;
    if (settings.kill !== undefined) await sections.killSection(common, settings, settings.kill);
    if (runs("pipeline") || runs("content-export")) {
      await sections.pipelineSection(
        common,
        { ...settings, exportMessages },
        { rest: runs("pipeline"), contentExport: runs("pipeline") || runs("content-export") },
      );
    }
    if (runs("conversion")) await sections.conversionSection();
    if (runs("hot-mailbox")) await sections.hotMailboxSection(common, settings.hotSeconds);
    if (runs("content-export")) await sections.contentExportSection();
    // Real time runs only when asked: a minute of live traffic.
    if (settings.only === "realtime") {
      const { realtimeSection } = await import("./bench/realtime");
      await realtimeSection(
        { host, caDir, storageConnectionString: services.storageConnectionString, log },
        { rate: settings.realtimeRate, seconds: settings.realtimeSeconds, users: settings.realtimeUsers },
      );
    }
    const ledger = { dashboard: runs("dashboard") || runs("ledger"), log: runs("log") || runs("ledger") };
    if (ledger.dashboard || ledger.log) {
      // One connector holds a fifth of the ledger unless told (2M of the default 10M).
      const bigConnectorRows = Math.min(settings.logRows ?? Math.round(settings.ledgerRows / 5), settings.ledgerRows);
      await sections.ledgerSections(
        { root, ...services },
        { connectors: settings.connectors, ledgerRows: settings.ledgerRows, bigConnectorRows, days: settings.days },
        ledger,
        log,
      );
    }
  } finally {
    await host.stop();
    const { db } = await import("../lib/db");
    await db.$disconnect();
    await services.stop();
  }
}
