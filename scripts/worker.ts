// `npm run worker`: one import worker process. Settings come from the environment (lib/config.ts) plus:
//   WORKER_CONCURRENCY          import jobs worked at once (default 4)
//   WORKER_ID                   name in item claims (default host-pid-random)
//   WORKER_CLAIM_SECONDS        claim lifetime of an item without renewal (default 60)
//   WORKER_MAINTENANCE_SECONDS  how often expired jobs of killed workers are looked for (default 30)
//   WORKER_JOB_EXPIRE_SECONDS   a run job not renewed for this long (its worker died) is retried (default 120)
//   WORKER_RUN_RETRY_SECONDS    delay before a stopped run is offered again (default 30)
//   WORKER_ATTEMPT_TIMEOUT_SECONDS  longest one import attempt of an item may take (default 1800)
//   WORKER_DEGRADED_AFTER_MINUTES   how long retried errors last before a connector shows Degraded (default 10)
//   WORKER_CAPTURE_LEASE_SECONDS    a real-time capture whose worker stopped renewing is taken over after this (default 30)
//   WORKER_CAPTURE_SCAN_SECONDS     how often connectors whose capture nobody runs are looked for (default 10)
//   WORKER_CAPTURE_READERS          readers of a captured connector's Datahose feed in the worker that holds it (default 2)
//   WORKER_CAPTURE_DRAIN_SECONDS    a feed of an earlier version's event types is read until nothing older than the new one came for this long (default 90)
// Several workers may run against one database; SIGTERM/SIGINT stop it gracefully.
import { z } from "zod";
import { config } from "@/lib/config";
import { upgradeStoredKeys } from "@/lib/connectors";
import { db } from "@/lib/db";
import { isDatabaseUnavailable } from "@/lib/jobs";
import { startWorker } from "@/lib/jobs";
import { logger } from "@/lib/logger";
import { errorMessage } from "@/lib/errors";

const parsed = z
  .object({
    WORKER_ID: z.string().trim().min(1).optional(),
    WORKER_CLAIM_SECONDS: z.coerce.number().int().min(2).max(3600).default(60),
    WORKER_MAINTENANCE_SECONDS: z.coerce.number().int().min(1).max(3600).default(30),
    WORKER_JOB_EXPIRE_SECONDS: z.coerce.number().int().min(2).max(86_400).default(120),
    WORKER_RUN_RETRY_SECONDS: z.coerce.number().int().min(0).max(86_400).default(30),
    WORKER_ATTEMPT_TIMEOUT_SECONDS: z.coerce.number().int().min(5).max(86_400).default(1800),
    WORKER_DEGRADED_AFTER_MINUTES: z.coerce.number().min(0).max(10_080).default(10),
    WORKER_CAPTURE_LEASE_SECONDS: z.coerce.number().int().min(3).max(600).default(30),
    WORKER_CAPTURE_SCAN_SECONDS: z.coerce.number().int().min(1).max(600).default(10),
    WORKER_CAPTURE_READERS: z.coerce.number().int().min(1).max(8).default(2),
    WORKER_CAPTURE_DRAIN_SECONDS: z.coerce.number().int().min(0).max(3600).default(90),
  })
  .safeParse(process.env);
if (!parsed.success) {
  console.error(
    `Invalid worker settings:\n${parsed.error.issues.map((issue) => `  ${issue.path.join(".")}: ${issue.message}`).join("\n")}`,
  );
  process.exit(1);
}
const env = parsed.data;

// pg-boss 10 does not wait for the "job completed/failed" write after a handler ends, so a database
// restart at that moment rejects with nobody listening, which would end the process. The job then
// simply expires and is retried, so such a rejection is logged; any other one still ends the process.
// Its network codes do not tell PostgreSQL from another service (Symphony, storage), so the line names
// the address the connection went to when the error carries one.
process.on("unhandledRejection", (reason) => {
  if (isDatabaseUnavailable(reason)) {
    logger.warn(
      { err: errorMessage(reason), at: connectionTarget(reason) },
      "connection lost with nobody waiting for it (database or service unavailable); the job is retried when it is back",
    );
    return;
  }
  logger.fatal({ err: reason instanceof Error ? reason.stack : String(reason) }, "unhandled rejection");
  process.exit(1);
});

const upgraded = await upgradeStoredKeys();
if (upgraded) logger.info({ upgraded }, "stored bot keys upgraded to the current format");

const worker = await startWorker({
  concurrency: config().WORKER_CONCURRENCY,
  workerId: env.WORKER_ID,
  delivery: { claimSeconds: env.WORKER_CLAIM_SECONDS, attemptTimeoutSeconds: env.WORKER_ATTEMPT_TIMEOUT_SECONDS },
  maintenanceIntervalSeconds: env.WORKER_MAINTENANCE_SECONDS,
  recovery: { expireSeconds: env.WORKER_JOB_EXPIRE_SECONDS, retryDelaySeconds: env.WORKER_RUN_RETRY_SECONDS },
  health: { degradedAfterSeconds: env.WORKER_DEGRADED_AFTER_MINUTES * 60 },
  capture: {
    leaseSeconds: env.WORKER_CAPTURE_LEASE_SECONDS,
    scanSeconds: env.WORKER_CAPTURE_SCAN_SECONDS,
    readers: env.WORKER_CAPTURE_READERS,
    drainSeconds: env.WORKER_CAPTURE_DRAIN_SECONDS,
  },
});

let stopping = false;
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, () => {
    if (stopping) return;
    stopping = true;
    void worker
      .stop()
      .then(() => db.$disconnect())
      .then(
        () => process.exit(0),
        () => process.exit(1),
      );
  });
}

/** The address an error's connection went to (`host:port` or a socket path), when an error in its chain says. */
function connectionTarget(error: unknown): string | undefined {
  for (let cause = error; cause && typeof cause === "object"; cause = (cause as { cause?: unknown }).cause) {
    const { address, port } = cause as { address?: unknown; port?: unknown };
    if (typeof address === "string") return typeof port === "number" ? `${address}:${port}` : address;
  }
  return undefined;
}
