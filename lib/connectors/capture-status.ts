// Real-time capture as the flyout shows it: read from the capture's lease row (lib/jobs/capture.ts).
import { db } from "@/lib/db";

export type CaptureStatus = {
  /** Whether a worker holds the capture now (its lease has not expired). */
  running: boolean;
  /** Now minus the sent time of the newest captured message; null before the first one. */
  lagSeconds: number | null;
  newestMessageAt: Date | null;
  /** Events read in the last complete minute. */
  eventsPerMinute: number;
  lastReadAt: Date | null;
  /** Why the capture is not reading, in plain words; null while it reads. */
  error: string | null;
};

/** The connector's real-time capture, or null when it has never run. */
export async function captureStatus(connectorId: string, now = new Date()): Promise<CaptureStatus | null> {
  const lease = await db.captureLease.findUnique({ where: { connectorId } });
  if (!lease) return null;
  return {
    running: lease.holder !== null && lease.holder !== "(paused)" && (lease.expiresAt?.getTime() ?? 0) > now.getTime(),
    lagSeconds: lease.newestMessageAt
      ? Math.max(0, Math.round((now.getTime() - lease.newestMessageAt.getTime()) / 1000))
      : null,
    newestMessageAt: lease.newestMessageAt,
    eventsPerMinute: lease.eventsPerMinute,
    lastReadAt: lease.lastReadAt,
    error: lease.error,
  };
}
