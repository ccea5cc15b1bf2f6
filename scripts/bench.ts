/**
 * `npm run bench`: the import engine's performance report (not a test). Starts its own PostgreSQL
 * and Azurite in a temporary folder and the Symphony and Microsoft 365 sandboxes in a child process,
 * then measures the full pipeline (the REST path and Content Export side by side), conversion alone,
 * one hot mailbox at the Graph ceiling, and Content Export's parsing, decryption and unzip per core.
 *
 *   npm run bench -- [--messages 20000] [--users 500] [--export-messages N]
 *                    [--only pipeline|conversion|hot-mailbox|content-export]
 *                    [--parallelism 8] [--batch-size 32] [--hot-seconds 30] [--cpu-prof] [--pending-index]
 * The same options as environment variables: BENCH_MESSAGES, BENCH_USERS, BENCH_ONLY, ...
 * --export-messages: the org size of the Content Export run (default --messages, at most 3,000: at the
 * default size a second full run would double the bench's time). --only content-export runs that
 * end-to-end run and the per-core figures.
 * --pending-index is an experiment: it adds the partial index recommended for the claim query to the
 * benchmark's own database (not a migration of the product) to measure what it would gain.
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
  },
});
const positive = z.coerce.number().int().min(1);
const settings = z
  .object({
    messages: positive,
    users: positive.min(2),
    exportMessages: positive.optional(),
    only: z.enum(["pipeline", "conversion", "hot-mailbox", "content-export"]).optional(),
    parallelism: positive.optional(),
    batchSize: positive.optional(),
    hotSeconds: positive,
  })
  .parse({
    ...values,
    exportMessages: values["export-messages"],
    batchSize: values["batch-size"],
    hotSeconds: values["hot-seconds"],
  });
const DEFAULT_EXPORT_MESSAGES_CAP = 3_000;
const exportMessages = settings.exportMessages ?? Math.min(settings.messages, DEFAULT_EXPORT_MESSAGES_CAP);

// msal-node and the Graph client only talk HTTPS: the process must trust the sandbox's local CA from
// its start (NODE_EXTRA_CA_CERTS is read once, at startup), so it runs itself again with it.
if (process.env.BENCH_REEXECUTED !== "1") {
  const ca = ensureSandboxCa(caDir);
  const execArgv = [
    ...process.execArgv,
    ...(values["cpu-prof"] ? ["--cpu-prof", `--cpu-prof-dir=${path.join(root, ".data/bench/profiles")}`] : []),
  ];
  const child = spawn(process.execPath, [...execArgv, ...process.argv.slice(1)], {
    stdio: "inherit",
    env: { ...process.env, BENCH_REEXECUTED: "1", NODE_EXTRA_CA_CERTS: ca.caCertPath },
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
    const runs = (section: NonNullable<typeof settings.only>) => !settings.only || settings.only === section;
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
  } finally {
    await host.stop();
    const { db } = await import("../lib/db");
    await db.$disconnect();
    await services.stop();
  }
}
