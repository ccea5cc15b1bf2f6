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

/**
 * A signal that aborts once the connector is PAUSED, looked up every `everyMs` (and at once): a run
 * stops claiming and collecting, and the items it has in flight end their attempt. `stop()` ends
 * the watch. A connector deleted meanwhile is left to the run's own handling.
 */
export function watchForPause(connectorId: string, everyMs = PAUSE_CHECK_MS): { signal: AbortSignal; stop(): void } {
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

export class ConnectorPausedError extends Error {
  override name = "ConnectorPausedError";
  constructor() {
    super("the connector was paused");
  }
}
