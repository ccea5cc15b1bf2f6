import type PgBoss from "pg-boss";

/** An import job not renewed for this long is expired by pg-boss and retried on another worker. */
export const IMPORT_JOB_EXPIRE_SECONDS = 120;
const RENEW_EVERY_MS = (IMPORT_JOB_EXPIRE_SECONDS * 1000) / 4;

/**
 * Keeps a long job alive: pg-boss 10 has no heartbeat, and expires an active job once
 * started_on + expire_in has passed. Moving started_on forward while the handler runs lets a short
 * expiry stand for "the worker died" rather than "the run is long". (A duplicate run after an
 * expiry would still be safe, only wasteful: runImport is idempotent and shares work.)
 */
export function keepJobAlive(boss: PgBoss, queue: string, jobId: string): () => void {
  const timer = setInterval(() => {
    boss
      .getDb()
      .executeSql(`UPDATE pgboss.job SET started_on = now() WHERE name = $1 AND id = $2 AND state = 'active'`, [queue, jobId])
      .catch(() => {});
  }, RENEW_EVERY_MS);
  return () => clearInterval(timer);
}
