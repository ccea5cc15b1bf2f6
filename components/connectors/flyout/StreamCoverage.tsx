import type { ConversationCoverage } from "@/lib/connectors";
import { formatCount, formatDateTime } from "../format";
import { PropertyList } from "./FlyoutSection";

/** How many refused conversations the flyout names; the status log (NOT_READ lines) has the rest. */
const NAMED = 20;

function streamLabel(stream: { type: string; name: string | null; id: string }): string {
  return stream.name ? `${stream.name} (${stream.type})` : `${stream.type} ${stream.id}`;
}

/**
 * "Conversations read" of a connector reading the service account's conversations: what its latest run
 * read, what Symphony refused and why, and what this path cannot know.
 */
export function StreamCoverage({ coverage }: { coverage: ConversationCoverage | null }) {
  const limits = (
    <p className="text-muted mt-3 text-sm">
      The service account reads only the conversations it is a member of. A message goes to the members who had joined
      by its time (Symphony gives each member&apos;s join date); people who have left a conversation are not listed by
      Symphony any more, so they do not receive its messages from this source. Content Export knows both.
    </p>
  );
  if (!coverage) {
    return (
      <>
        <p className="text-muted">No import has read the conversations yet.</p>
        {limits}
      </>
    );
  }
  const newMessages = coverage.read.reduce((sum, stream) => sum + stream.messages, 0);
  const named = coverage.refused.slice(0, NAMED);
  return (
    <>
      <p className="mb-2">The import started {formatDateTime(coverage.startedAt)}:</p>
      <PropertyList
        rows={[
          ["Conversations listed", formatCount(coverage.listed)],
          ["Read", `${formatCount(coverage.read.length)} (${formatCount(newMessages)} new messages)`],
          ["Nothing new", formatCount(coverage.unchanged)],
          ["Not readable", formatCount(coverage.refusedTotal)],
          ...(coverage.otherTypes > 0
            ? [["Unknown types skipped", formatCount(coverage.otherTypes)] as [string, string]]
            : []),
        ]}
      />
      {named.length > 0 && (
        <>
          <h4 className="mt-3 text-sm font-semibold">Not readable, and why</h4>
          <ul className="mt-1 space-y-1 text-sm">
            {named.map((stream) => (
              <li key={stream.id} className="break-words">
                <span className="font-medium">{streamLabel(stream)}</span>: {stream.reason}
              </li>
            ))}
          </ul>
          {coverage.refusedTotal > named.length && (
            <p className="text-muted mt-1 text-sm">
              {formatCount(coverage.refusedTotal - named.length)} more;{" "}
              {coverage.refused.length < coverage.refusedTotal
                ? `the status log names the first ${formatCount(coverage.refused.length)}`
                : "the status log names them all"}{" "}
              (status NOT_READ).
            </p>
          )}
        </>
      )}
      {limits}
    </>
  );
}
