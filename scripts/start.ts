// `npm start`: the whole product in one process group. Whatever is not configured is brought up
// embedded under DATA_DIR (PostgreSQL, Azurite, and the Symphony and Microsoft 365 sandboxes with a
// demo organisation); then migrations, a production build when sources changed, the web app and a worker.
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { parseConfig } from "@/lib/config";
import { errorMessage } from "@/lib/errors";
import { migrate } from "@/lib/migrations";
import { startAzurite } from "../sandbox/azurite";
import { startDemoSandboxes } from "../sandbox/demo";
import { startEmbeddedPostgres } from "../sandbox/postgres";
import { buildNext, needsBuild, nextBin as nextBinOf } from "./next-build";
import { buildWorker, workerLaunch } from "./worker-build";

const root = path.resolve(import.meta.dirname, "..");
const nextBin = nextBinOf(root);
const stops: (() => Promise<void>)[] = [];
const children = new Map<string, ChildProcess>();
let stopping = false;

function say(line: string) {
  console.log(`[start] ${line}`);
}

async function main() {
  if (existsSync(path.join(root, ".env"))) process.loadEnvFile(path.join(root, ".env"));
  const env = process.env;
  const configured = { ...env };
  const initial = parseConfig(env); // fail early, naming any bad variable
  const dataDir = path.resolve(root, initial.DATA_DIR);
  // Secrets, the database and the logs live here: only the service's own user may read them. Run as
  // root, embedded PostgreSQL runs as its own "postgres" user, which must be able to pass through
  // (not list or read) this folder to reach its data folder.
  const dataDirMode = process.getuid?.() === 0 ? 0o711 : 0o700;
  mkdirSync(dataDir, { recursive: true, mode: dataDirMode });
  chmodSync(dataDir, dataDirMode);
  env.DATA_DIR = dataDir;
  Object.assign(env, generatedSecrets(dataDir, env));

  if (!env.DATABASE_URL) {
    say("DATABASE_URL not set: starting embedded PostgreSQL");
    const postgres = await startEmbeddedPostgres({ dir: path.join(dataDir, "postgres") });
    stops.push(() => postgres.stop());
    env.DATABASE_URL = postgres.url;
  }
  if (!env.AZURE_STORAGE_CONNECTION_STRING) {
    say("AZURE_STORAGE_CONNECTION_STRING not set: starting Azurite");
    const azurite = await startAzurite({
      dir: path.join(dataDir, "azurite"),
      keepRunning: { shouldRestart: () => !stopping, onEvent: (event) => console.error(`[start] ${event}`) },
    });
    stops.push(() => azurite.stop());
    env.AZURE_STORAGE_CONNECTION_STRING = azurite.connectionString;
  }
  let demo: Awaited<ReturnType<typeof startDemoSandboxes>> | undefined;
  if (!env.ENTRA_TENANT_ID) {
    say("ENTRA_TENANT_ID not set: starting the Microsoft 365 and Symphony sandboxes with a demo organisation");
    demo = await startDemoSandboxes({ dir: path.join(dataDir, "sandbox"), appUrl: appUrl(env) });
    stops.push(demo.close.bind(demo));
    const { NODE_EXTRA_CA_CERTS: sandboxCa, ...demoEnv } = demo.env;
    Object.assign(env, demoEnv);
    env.NODE_EXTRA_CA_CERTS = withExtraCa(env.NODE_EXTRA_CA_CERTS, sandboxCa!, path.join(dataDir, "sandbox"));
    // The demo's Symphony sandbox listens on loopback: allow it (a real deployment keeps the default, false).
    env.SYMPHONY_ALLOW_PRIVATE_HOSTS ??= "true";
  }

  const { applied } = await migrate({ databaseUrl: env.DATABASE_URL, dir: path.join(root, "prisma/migrations") });
  say(applied.length ? `applied migrations: ${applied.join(", ")}` : "database schema is up to date");

  if (needsBuild(root)) {
    say("building the web app (first start or sources changed; takes a minute or two)");
    await buildNext(root, env);
  }

  const config = parseConfig(env);
  env.APP_URL = appUrl(env);
  env.NEXTAUTH_URL ??= env.APP_URL;
  writeRuntimeSettings(dataDir, env, configured);
  supervise("web", [nextBin, "start", "-p", String(config.PORT), "-H", env.HOST ?? "127.0.0.1"], env, {
    restart: false,
  });
  // Compiled (no TypeScript loader in the process); a capped heap keeps the worker's memory flat.
  const worker = workerLaunch(await buildWorker(root), env);
  supervise("worker", worker.args, worker.env, { restart: true });
  await waitForHealth(`http://127.0.0.1:${config.PORT}/api/health`);
  say(`ready: ${env.APP_URL}`);
  if (demo) for (const line of demo.instructions) say(line);
}

/**
 * What `npm run import` and `npm run worker` need to reach the parts this supervisor brought up
 * (scripts/with-app-env.ts). Only the settings it made itself (configured ones stay where they are),
 * and the app's address.
 */
function writeRuntimeSettings(dataDir: string, env: NodeJS.ProcessEnv, configured: NodeJS.ProcessEnv) {
  const names = [
    "DATABASE_URL",
    "AZURE_STORAGE_CONNECTION_STRING",
    "SECRETS_KEY",
    "ENTRA_AUTHORITY_HOST",
    "ENTRA_TENANT_ID",
    "ENTRA_CLIENT_ID",
    "ENTRA_CLIENT_SECRET",
    "GRAPH_BASE_URL",
    "NODE_EXTRA_CA_CERTS",
    "SYMPHONY_ALLOW_PRIVATE_HOSTS",
  ];
  const settings: Record<string, string | undefined> = Object.fromEntries(
    names.filter((name) => env[name] && env[name] !== configured[name]).map((name) => [name, env[name]]),
  );
  // The app's address too, however it was given: the doctor checks the redirect URIs Entra sends admins to.
  settings.APP_URL = env.APP_URL;
  writeFileSync(path.join(dataDir, "runtime.json"), JSON.stringify(settings, null, 2), { mode: 0o600 });
}

/** The CA file children trust: the sandbox's CA added to any the machine already names. */
function withExtraCa(current: string | undefined, ca: string, dir: string): string {
  if (!current || !existsSync(current) || current === ca) return ca;
  const bundle = path.join(dir, "trusted-ca-bundle.pem");
  writeFileSync(bundle, `${readFileSync(current, "utf8").trimEnd()}\n${readFileSync(ca, "utf8")}`);
  return bundle;
}

function appUrl(env: NodeJS.ProcessEnv): string {
  return env.APP_URL ?? `http://localhost:${env.PORT ?? 3000}`;
}

/** Secrets the app needs but the operator did not give: made once and kept (mode 600) in DATA_DIR. */
function generatedSecrets(dataDir: string, env: NodeJS.ProcessEnv): Record<string, string> {
  const file = path.join(dataDir, "secrets.json");
  const stored = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as Record<string, string>) : {};
  const wanted = {
    SECRETS_KEY: () => randomBytes(32).toString("base64"),
    NEXTAUTH_SECRET: () => randomBytes(32).toString("hex"),
    CRON_SECRET: () => randomBytes(24).toString("hex"),
  };
  const result: Record<string, string> = {};
  for (const [name, make] of Object.entries(wanted)) {
    if (env[name]) continue;
    stored[name] ??= make();
    result[name] = stored[name];
    if (name === "SECRETS_KEY" && env.DATABASE_URL) {
      say(`warning: SECRETS_KEY not set; using the one kept in ${file}. Set it explicitly for a real deployment.`);
    }
  }
  writeFileSync(file, JSON.stringify(stored, null, 2), { mode: 0o600 });
  return result;
}

/**
 * Runs a long-lived Node.js child; its output goes to this terminal and to DATA_DIR/logs/<name>.log.
 * A worker that dies is started again (its runs resume where they stopped); if the web app dies,
 * everything stops.
 */
function supervise(name: string, args: string[], env: NodeJS.ProcessEnv, options: { restart: boolean }) {
  const logDir = path.join(env.DATA_DIR!, "logs");
  mkdirSync(logDir, { recursive: true, mode: 0o700 });
  const logFile = path.join(logDir, `${name}.log`);
  const log = createWriteStream(logFile, { flags: "a", mode: 0o600 });
  if (existsSync(logFile)) chmodSync(logFile, 0o600); // files made by older versions
  const launch = () => {
    const child = spawn(process.execPath, args, { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
    for (const [from, to] of [
      [child.stdout, process.stdout],
      [child.stderr, process.stderr],
    ] as const) {
      from.on("data", (chunk: Buffer) => {
        to.write(chunk);
        log.write(chunk);
      });
    }
    children.set(name, child);
    child.once("exit", (code, signal) => {
      if (stopping) return;
      const why = signal ?? `code ${code}`;
      if (!options.restart) {
        console.error(`[start] ${name} stopped unexpectedly (${why}); shutting down`);
        void shutdown(1);
        return;
      }
      console.error(`[start] ${name} stopped unexpectedly (${why}); starting it again in 5 s`);
      setTimeout(() => stopping || launch(), 5_000).unref();
    });
  };
  launch();
}

async function waitForHealth(url: string) {
  const deadline = Date.now() + 120_000;
  let last = "";
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url);
      if (response.ok) return;
      last = JSON.stringify(await response.json());
    } catch (error) {
      last = (error as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`the app did not become healthy within 2 minutes (${last})`);
}

async function shutdown(code: number) {
  if (stopping) return;
  stopping = true;
  say("stopping");
  await Promise.all(
    [...children.values()].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once("exit", () => resolve());
          child.kill("SIGTERM");
          setTimeout(() => child.kill("SIGKILL"), 10_000).unref();
        }),
    ),
  );
  for (const stop of stops.reverse()) await stop().catch((error) => console.error(`[start] ${errorMessage(error)}`));
  process.exit(code);
}

process.on("SIGINT", () => void shutdown(0));
process.on("SIGTERM", () => void shutdown(0));

main().catch(async (error) => {
  console.error(`[start] ${errorMessage(error)}`);
  await shutdown(1);
});
