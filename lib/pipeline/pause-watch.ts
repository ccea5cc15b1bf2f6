import { db } from "@/lib/db";

/** How often a run looks whether an admin paused its connector (default). */
export const PAUSE_CHECK_MS = 5000;

/** What a run paused by an admin says in its history. */
export const PAUSED_NOTE =
  "Stopped because an admin paused the connector: the items it had not imported wait, and are imported by the first run after Resume.";

async function isPaused(connectorId: string): Promise<boolean> {
  const connector = await db.connector.findUnique({ where: { id: connectorId }, select: { status: true } });
  return connector?.status === "PAUSED";
}

/** Whether a run's note says it stopped because an admin paused its connector. */
export function stoppedByPause(note: string | null | undefined): boolean {
  return note?.startsWith(PAUSED_NOTE) ?? false;
}

/**
 * Runs `work` with a signal that also aborts once an admin pauses the connector (looked up every
 * `everyMs`, and at once): the work stops claiming and collecting, and the items it has in flight end
 * their attempt. Resolves `{ paused: true }` when the work stopped for that pause; any other error,
 * the caller's own abort included, is thrown as it is. A connector deleted meanwhile is left to the
 * work's own handling.
 */
export async function unlessPaused<T>(
  connectorId: string,
  { signal, everyMs = PAUSE_CHECK_MS }: { signal?: AbortSignal; everyMs?: number },
  work: (signal: AbortSignal) => Promise<T>,
): Promise<{ paused: false; result: T } | { paused: true }> {
  const pause = watchForPause(connectorId, everyMs);
  try {
    return { paused: false, result: await work(signal ? AbortSignal.any([signal, pause.signal]) : pause.signal) };
  } catch (error) {
    if (signal?.aborted || !abortedBy(error, pause.signal)) throw error;
    return { paused: true };
  } finally {
    pause.stop();
  }
}

/**
 * Whether `error` is what aborting `signal` threw: its reason itself, or an error caused by it (every
 * source, fetch and timers/promises keep the reason), and not a failure of the work's own.
 */
function abortedBy(error: unknown, signal: AbortSignal): boolean {
  if (!signal.aborted) return false;
  for (let cause = error; cause instanceof Error; cause = cause.cause) if (cause === signal.reason) return true;
  return false;
}

function watchForPause(connectorId: string, everyMs = PAUSE_CHECK_MS): { signal: AbortSignal; stop(): void } {
  const paused = new AbortController();
  let checking = false;
  const check = async () => {
    if (checking || paused.signal.aborted) return;
    checking = true;
    try {
      if (await isPaused(connectorId)) paused.abort(new ConnectorPausedError());
    } catch {
      // The database away: the run finds out by itself; the next check tries again.
    } finally {
      checking = false;
    }
  };
  void check();
  const timer = setInterval(() => void check(), everyMs);
  timer.unref();
  return { signal: paused.signal, stop: () => clearInterval(timer) };
}

class ConnectorPausedError extends Error {
  override name = "ConnectorPausedError";
  constructor() {
    super("the connector was paused");
  }
}
