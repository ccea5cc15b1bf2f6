// Test support: `scripts/worker.ts` as a real child process (so SIGKILL is real), pointed at a
// harness's sandboxes, and waiting for a run to end.
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { db } from "@/lib/db";
import { IMPORT_QUEUE } from "@/lib/jobs";
import { workerLaunch } from "@/scripts/worker-build";
import type { Harness } from "./harness";

const root = path.resolve(import.meta.dirname, "../..");

export type WorkerProcess = {
  child: ChildProcess;
  /** Resolves when the process has exited (killed or not). */
  exited: Promise<void>;
  /** The last lines it wrote (stdout and stderr), for failure messages. */
  output(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
};

/** Fast-recovery settings: a killed worker's items and run job are free again within seconds. */
export const fastRecovery = {
  WORKER_CLAIM_SECONDS: "3",
  WORKER_JOB_EXPIRE_SECONDS: "3",
  WORKER_MAINTENANCE_SECONDS: "1",
  WORKER_RUN_RETRY_SECONDS: "0",
  WORKER_ATTEMPT_TIMEOUT_SECONDS: "20",
};

/** The environment of a worker that imports with the harness's app registration and staging container. */
export function workerEnv(h: Harness, overrides: Record<string, string> = {}): NodeJS.ProcessEnv {
  const { m365, staging } = h.environment;
  return {
    PATH: process.env.PATH,
    NODE_ENV: "test",
    LOG_LEVEL: "warn",
    DATABASE_URL: process.env.DATABASE_URL,
    SECRETS_KEY: process.env.SECRETS_KEY,
    NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS,
    AZURE_STORAGE_CONNECTION_STRING: staging.connectionString,
    STAGING_CONTAINER: staging.containerName,
    ENTRA_CLIENT_ID: m365.clientId,
    ENTRA_CLIENT_SECRET: m365.clientSecret,
    ENTRA_AUTHORITY_HOST: m365.authorityHost,
    GRAPH_BASE_URL: m365.graphBaseUrl,
    // The harness's Symphony sandbox listens on loopback.
    SYMPHONY_ALLOW_PRIVATE_HOSTS: "true",
    WORKER_CONCURRENCY: "2",
    ...fastRecovery,
    ...overrides,
  };
}

/**
 * Starts the worker with tsx loaded into the same process (`node --import tsx`): tsx's CLI would run
 * it in a grandchild that outlives a SIGKILL of the CLI. With `compiled` (scripts/worker-build.ts's
 * output), the compiled worker instead, exactly as `npm start` runs it.
 */
export function spawnWorker(
  env: NodeJS.ProcessEnv,
  { compiled, nodeArgs = [] }: { compiled?: string; nodeArgs?: string[] } = {},
): WorkerProcess {
  // The heap cap and malloc settings npm start gives the worker, with or without tsx.
  const launch = compiled
    ? workerLaunch(compiled, env, { nodeArgs })
    : workerLaunch(path.join(root, "scripts/worker.ts"), env, { nodeArgs: ["--import", "tsx", ...nodeArgs] });
  const child = spawn(process.execPath, launch.args, { cwd: root, env: launch.env, stdio: ["ignore", "pipe", "pipe"] });
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    lines.push(...chunk.toString().split("\n").filter(Boolean));
    lines.splice(0, Math.max(0, lines.length - 40));
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once("exit", () => resolve());
  });
  return {
    child,
    exited,
    output: () => lines.join("\n"),
    async kill(signal = "SIGKILL") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

const FINISHED = ["SUCCEEDED", "PARTIAL", "FAILED"];

/** The pg-boss job of a run: its state and how many times it was offered again. */
export async function runJob(runId: string): Promise<{ state: string; retryCount: number } | undefined> {
  const [job] = await db.$queryRaw<Array<{ state: string; retry_count: number }>>`
    SELECT state::text, retry_count FROM pgboss.job WHERE name = ${IMPORT_QUEUE} AND data->>'runId' = ${runId}`;
  return job && { state: job.state, retryCount: job.retry_count };
}

/**
 * The run once it has ended and its job is done (so no retry of it is left in the queue that test
 * files share), or the run as it stands when `timeoutMs` has passed.
 */
export async function waitForRunEnd(runId: string, timeoutMs: number) {
  const ended = async () => {
    const run = await db.importRun.findUniqueOrThrow({ where: { id: runId } });
    return FINISHED.includes(run.status) && ["completed", "failed"].includes((await runJob(runId))?.state ?? "");
  };
  await until(ended, timeoutMs, `end of run ${runId}`).catch(() => {});
  return db.importRun.findUniqueOrThrow({ where: { id: runId } });
}

/** Waits until `condition` holds; errors (a database restarting) count as "not yet". */
export async function until(condition: () => Promise<boolean>, timeoutMs: number, what = "condition"): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !(await condition().catch(() => false)); await sleep(100)) {
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms`);
  }
}
