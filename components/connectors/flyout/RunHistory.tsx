import type { RunRow } from "@/lib/connectors";
import { StatusBadge } from "../StatusBadge";
import { formatCount, formatDateTime } from "../format";

const triggerLabels: Record<RunRow["trigger"], string> = {
  MANUAL: "Manual",
  SCHEDULE: "Schedule",
  CONTINUOUS: "Continuous",
  SETUP: "Setup",
};

/** The connector's recent runs, newest first. */
export function RunHistory({ runs }: { runs: RunRow[] }) {
  if (runs.length === 0) return <p className="text-muted">No runs yet.</p>;
  return (
    <table className="w-full text-left">
      <caption className="sr-only">Recent import runs</caption>
      <thead className="text-muted text-xs uppercase">
        <tr>
          <th scope="col" className="py-1">
            Started
          </th>
          <th scope="col">Trigger</th>
          <th scope="col">Result</th>
          <th scope="col" className="text-right">
            Imported
          </th>
          <th scope="col" className="text-right">
            Failed
          </th>
        </tr>
      </thead>
      <tbody>
        {runs.map((run) => (
          <tr key={run.id} className="border-line border-t">
            <td className="py-1">{formatDateTime(run.startedAt)}</td>
            <td>{triggerLabels[run.trigger]}</td>
            <td>
              <StatusBadge status={run.status} />
            </td>
            <td className="text-right tabular-nums">{formatCount(run.itemsImported)}</td>
            <td className="text-right tabular-nums">{formatCount(run.itemsFailed)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
