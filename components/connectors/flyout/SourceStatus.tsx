import type { RunRow } from "@/lib/connectors";
import { StatusBadge } from "../StatusBadge";
import { formatCount, formatDateTime } from "../format";
import { PropertyList } from "./FlyoutSection";

/** "Connector status with source": the last finished run, its counts and its error. */
export function SourceStatus({ last, isDraft }: { last: RunRow | undefined; isDraft: boolean }) {
  if (!last) {
    return <p className="text-muted">{isDraft ? "Setup is not finished yet." : "No import has finished yet."}</p>;
  }
  return (
    <>
      <p className="mb-2 flex items-center gap-2">
        Last import <StatusBadge status={last.status} /> {formatDateTime(last.finishedAt ?? last.startedAt)}
      </p>
      <PropertyList
        rows={[
          ["Messages collected", formatCount(last.messagesCollected)],
          ["Items imported", formatCount(last.itemsImported)],
          ["Items skipped", formatCount(last.itemsSkipped)],
          ["Items failed", formatCount(last.itemsFailed)],
        ]}
      />
      {last.error && <p className="mt-2 rounded border border-red-300 bg-red-50 p-2 text-red-800">{last.error}</p>}
    </>
  );
}
