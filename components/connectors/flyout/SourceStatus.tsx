import type { ConnectorOverview, RunRow } from "@/lib/connectors";
import { StatusBadge } from "../StatusBadge";
import { formatCount, formatDateTime, formatDuration } from "../format";
import { PropertyList } from "./FlyoutSection";

/**
 * "Connector status with source": the connector's health (why, when it is not healthy), the last
 * finished run's figures and the connector's totals over every run, each labelled as what it is.
 */
export function SourceStatus({
  overview,
  last,
  isDraft,
}: {
  overview: ConnectorOverview;
  last: RunRow | undefined;
  isDraft: boolean;
}) {
  const { health, totals } = overview;
  return (
    <div className="space-y-4">
      {/* Connected and Paused are in the flyout's header; a connector in trouble says why here. */}
      {health.reason && (
        <div>
          <p className="flex flex-wrap items-center gap-2">
            <StatusBadge status={health.state} />
            {health.since && <span className="text-muted text-sm">since {formatDateTime(health.since)}</span>}
          </p>
          <p
            className={`mt-2 rounded border p-2 ${
              health.state === "NEEDS_ATTENTION"
                ? "border-red-300 bg-red-50 text-red-800"
                : "border-amber-300 bg-amber-50 text-amber-900"
            }`}
          >
            {health.reason}
          </p>
        </div>
      )}
      {last ? (
        <div>
          <p className="mb-2 flex flex-wrap items-center gap-2 font-semibold">
            Last import <StatusBadge status={last.status} />{" "}
            <span className="font-normal">
              {formatDateTime(last.finishedAt ?? last.startedAt)}
              {last.finishedAt && ` · took ${formatDuration(last.finishedAt.getTime() - last.startedAt.getTime())}`}
            </span>
          </p>
          <PropertyList
            rows={[
              ["Messages collected", formatCount(last.messagesCollected)],
              ["Items imported", formatCount(last.itemsImported)],
              ["Items skipped", formatCount(last.itemsSkipped)],
              ["Items failed", formatCount(last.itemsFailed)],
              // A create that timed out but went through leaves a second copy once retried: deleted and counted.
              ["Duplicates removed", formatCount(last.duplicatesRemoved)],
            ]}
          />
          {/* A reason already given above, for the connector, is not repeated. */}
          {/* A partial run (paused, or files that failed) warns; a failed one is an error. */}
          {last.error && !health.reason?.includes(last.error) && (
            <p
              className={`mt-2 rounded border p-2 ${
                last.status === "PARTIAL"
                  ? "border-amber-300 bg-amber-50 text-amber-900"
                  : "border-red-300 bg-red-50 text-red-800"
              }`}
            >
              {last.error}
            </p>
          )}
        </div>
      ) : (
        <p className="text-muted">{isDraft ? "Setup is not finished yet." : "No import has finished yet."}</p>
      )}
      {!isDraft && (
        <div>
          <p className="mb-2 font-semibold">All runs so far</p>
          <PropertyList
            rows={[
              ["Total messages collected", formatCount(totals.messagesCollected)],
              ["Total items imported", formatCount(totals.itemsImported)],
              ["Total items skipped", formatCount(totals.itemsSkipped)],
              ["Total items failed", formatCount(totals.itemsFailed)],
            ]}
          />
        </div>
      )}
    </div>
  );
}
