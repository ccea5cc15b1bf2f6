import type { RunRow } from "@/lib/connectors";
import { StatusBadge } from "../StatusBadge";
import { formatCount, formatDateTime, formatDuration } from "../format";

const short = new Intl.DateTimeFormat("en-GB", {
  day: "numeric",
  month: "short",
  hour: "2-digit",
  minute: "2-digit",
  hourCycle: "h23",
  timeZone: "UTC",
});

const triggerLabels: Record<RunRow["trigger"], string> = {
  MANUAL: "Manual",
  SCHEDULE: "Schedule",
  CONTINUOUS: "Continuous",
  SETUP: "Setup",
};

/** A run waiting for its next try after an error shows as Retrying. */
export function runState(run: Pick<RunRow, "status" | "nextAttemptAt">): string {
  return run.status === "RUNNING" && run.nextAttemptAt ? "RETRYING" : run.status;
}

/** The connector's recent runs, newest first, each with a link to its own status log. */
export function RunHistory({ connectorId, runs }: { connectorId: string; runs: RunRow[] }) {
  if (runs.length === 0) return <p className="text-muted">No runs yet.</p>;
  return (
    <div className="overflow-x-auto">
      <table className="w-full min-w-[32rem] text-left text-sm whitespace-nowrap [&_td]:px-1 [&_th]:px-1">
        <caption className="sr-only">Recent import runs</caption>
        <thead className="text-muted text-xs uppercase">
          <tr>
            <th scope="col" className="py-1">
              Started (UTC)
            </th>
            <th scope="col">Trigger</th>
            <th scope="col">Result</th>
            <th scope="col" className="text-right">
              Imported
            </th>
            <th scope="col" className="text-right">
              Skipped
            </th>
            <th scope="col" className="text-right">
              Failed
            </th>
            <th scope="col" className="text-right">
              Took
            </th>
            <th scope="col">Log</th>
          </tr>
        </thead>
        <tbody>
          {runs.map((run) => (
            <tr key={run.id} className="border-line border-t">
              <td className="py-1 tabular-nums">{short.format(run.startedAt)}</td>
              <td>{triggerLabels[run.trigger]}</td>
              <td>
                <StatusBadge status={runState(run)} />
              </td>
              <td className="text-right tabular-nums">{formatCount(run.itemsImported)}</td>
              <td className="text-right tabular-nums">{formatCount(run.itemsSkipped)}</td>
              <td className="text-right tabular-nums">{formatCount(run.itemsFailed)}</td>
              <td className="text-right tabular-nums">
                {run.finishedAt ? formatDuration(run.finishedAt.getTime() - run.startedAt.getTime()) : "—"}
              </td>
              <td>
                <a
                  href={`/api/connectors/${connectorId}/log?run=${run.id}`}
                  className="text-brand hover:underline"
                  aria-label={`Status log of the run started ${formatDateTime(run.startedAt)}`}
                  download
                >
                  CSV
                </a>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
