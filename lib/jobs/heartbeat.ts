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
 * The expire_in a run job is sent with. pg-boss 10 uses it twice: in the worker process, as a timeout
 * after which it fails the job while the handler goes on running (then a retry starts a second run
 * beside it), and in the database, where an active job with started_on + expire_in in the past is
 * expired. It is long, so the first never fires; the heartbeat below handles the second.
 */
export const RUN_JOB_TIMEOUT_SECONDS = 12 * 3600;

/**
 * Keeps a long job alive: pg-boss 10 has no heartbeat. While the handler runs, started_on is set so
 * that the job expires `expireSeconds` after the last renewal (started_on = now - expire_in +
 * expireSeconds): a short expiry then stands for "the worker died" rather than "the run is long".
 * The worker also sets the retry delay: fixed, not a backoff, because a run resumes where it stopped.
 * (A duplicate run after an expiry would still be safe, only wasteful: runImport is idempotent.)
 */
export function keepJobAlive(
  boss: PgBoss,
  queue: string,
  jobId: string,
  recovery: RunJobRecovery,
): (retryDelaySeconds?: number) => Promise<void> {
  // One renewal at a time, so the last delay set is the one the row keeps.
  let renewed = Promise.resolve();
  const renew = (retryDelaySeconds = recovery.retryDelaySeconds) =>
    (renewed = renewed.then(() =>
      boss
        .getDb()
        .executeSql(
          `UPDATE pgboss.job SET started_on = now() - expire_in + make_interval(secs => $3), retry_delay = $4, retry_backoff = false
           WHERE name = $1 AND id = $2 AND state = 'active'`,
          [queue, jobId, recovery.expireSeconds, retryDelaySeconds],
        )
        .then(
          () => undefined,
          () => undefined,
        ),
    ));
  void renew();
  const timer = setInterval(() => void renew(), (recovery.expireSeconds * 1000) / 4);
  /** Stops renewing; with a delay, the job (about to fail) is offered again that many seconds later. */
  return (retryDelaySeconds) => {
    clearInterval(timer);
    return retryDelaySeconds === undefined ? renewed : renew(retryDelaySeconds);
  };
}

/**
 * Gives back run jobs whose worker died between taking them and their first renewal. Such a job still
 * carries the expiry it was sent with (RUN_JOB_TIMEOUT_SECONDS), so pg-boss would offer it again only
 * hours later and its run would wait that long. A job taken more than `expireSeconds` ago and never
 * renewed (a renewed one started, on paper, nearly expire_in ago) is made to expire now: pg-boss's next
 * maintenance offers it again. Returns how many were given back.
 */
export async function expireUnrenewedJobs(boss: PgBoss, queue: string, recovery: RunJobRecovery): Promise<number> {
  const rows = await boss.getDb().executeSql(
    `UPDATE pgboss.job SET started_on = now() - expire_in
     WHERE name = $1 AND state = 'active'
       AND started_on < now() - make_interval(secs => $2) AND started_on > now() - expire_in / 2
     RETURNING id`,
    [queue, recovery.expireSeconds],
  );
  return rows.rows.length;
}
