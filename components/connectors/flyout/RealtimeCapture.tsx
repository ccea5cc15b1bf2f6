import type { CaptureStatus } from "@/lib/connectors";
import { formatCount, formatDateTime } from "../format";
import { PropertyList } from "./FlyoutSection";

function lag(seconds: number): string {
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7_200) return `${Math.round(seconds / 60)} min`;
  return `${Math.round(seconds / 3_600)} h`;
}

/** "Real-time capture": how far behind Symphony the mailboxes' newest captured message is, and the feed's pace. */
export function RealtimeCapture({ status }: { status: CaptureStatus | null }) {
  if (!status) return <p className="text-muted">No worker has started the capture yet.</p>;
  return (
    <>
      <PropertyList
        rows={[
          ["Capture", status.running ? "Reading the Datahose" : "Stopped"],
          [
            "Capture lag",
            status.lagSeconds === null
              ? "No message captured yet"
              : `${lag(status.lagSeconds)} (newest message sent ${formatDateTime(status.newestMessageAt)})`,
          ],
          ["Events per minute", formatCount(status.eventsPerMinute)],
          ["Last read", status.lastReadAt ? formatDateTime(status.lastReadAt) : "—"],
        ]}
      />
      {status.error && <p className="mt-2 text-sm text-red-700">{status.error}</p>}
      <p className="text-muted mt-3 text-sm">
        The lag is now minus the time of the newest message captured: on a quiet pod it grows while nobody writes.
      </p>
    </>
  );
}
