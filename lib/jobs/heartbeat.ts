import type PgBoss from "pg-boss";

/** Recovery settings a worker applies to the run jobs it takes. */
export type RunJobRecovery = {
  /** A job not renewed for this long is expired by pg-boss (its worker died) and retried. */
  expireSeconds: number;
  /** How long after an expiry or an error the run job is offered again. */
  retryDelaySeconds: number;
};

export const defaultRunJobRecovery: RunJobRecovery = { expireSeconds: 120, retryDelaySeconds: 30 };

/**
 * Keeps a long job alive: pg-boss 10 has no heartbeat, and expires an active job once
 * started_on + expire_in has passed. The worker that holds the job sets its expiry and retry delay
 * (they belong with the renewal interval, which only the worker knows) and moves started_on forward
 * while the handler runs, so a short expiry stands for "the worker died" rather than "the run is long".
 * The retry delay is fixed, not a backoff: a run resumes where it stopped, so retrying soon is cheap.
 * (A duplicate run after an expiry would still be safe, only wasteful: runImport is idempotent.)
 */
export function keepJobAlive(boss: PgBoss, queue: string, jobId: string, recovery: RunJobRecovery): () => void {
  const renew = () =>
    boss
      .getDb()
      .executeSql(
        `UPDATE pgboss.job SET started_on = now(), expire_in = make_interval(secs => $3), retry_delay = $4, retry_backoff = false
         WHERE name = $1 AND id = $2 AND state = 'active'`,
        [queue, jobId, recovery.expireSeconds, recovery.retryDelaySeconds],
      )
      .catch(() => {});
  void renew();
  const timer = setInterval(renew, (recovery.expireSeconds * 1000) / 4);
  return () => clearInterval(timer);
}
