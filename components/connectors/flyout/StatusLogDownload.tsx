import type { RunRow } from "@/lib/connectors";
import { formatDateTime } from "../format";

const control = "rounded border border-gray-500 bg-white px-2 py-1.5";

/**
 * Chooses what to download from the status log: one run, a range of message dates, one status. A
 * plain GET form to the log's route, so the browser downloads the CSV and the route checks the filter.
 */
export function StatusLogDownload({
  connectorId,
  runs,
  conversations = false,
}: {
  connectorId: string;
  runs: RunRow[];
  /** The connector reads the service account's conversations: its log also lists those a run could not read. */
  conversations?: boolean;
}) {
  return (
    <form method="get" action={`/api/connectors/${connectorId}/log`} className="grid gap-3 sm:grid-cols-2">
      <label className="flex flex-col gap-1 sm:col-span-2">
        <span className="font-semibold">Run</span>
        <select name="run" defaultValue="" className={control}>
          <option value="">All runs</option>
          {runs.map((run) => (
            <option key={run.id} value={run.id}>
              {formatDateTime(run.startedAt)} · {run.status.toLowerCase()}
            </option>
          ))}
        </select>
      </label>
      <label className="flex flex-col gap-1">
        <span className="font-semibold">Messages from</span>
        <input type="date" name="from" className={control} />
      </label>
      <label className="flex flex-col gap-1">
        <span className="font-semibold">to</span>
        <input type="date" name="to" className={control} />
      </label>
      <label className="flex flex-col gap-1 sm:col-span-2">
        <span className="font-semibold">Status</span>
        <select name="status" defaultValue="" className={control}>
          <option value="">Any status</option>
          <option value="imported">Imported</option>
          <option value="skipped">Skipped</option>
          <option value="failed">Failed</option>
          <option value="pending">Pending</option>
          {conversations && <option value="not_read">Conversations not read</option>}
        </select>
      </label>
      <div className="sm:col-span-2">
        <button
          type="submit"
          className="hover:bg-canvas rounded border border-gray-500 bg-white px-3 py-1.5 font-semibold"
        >
          Download filtered log (CSV)
        </button>
      </div>
    </form>
  );
}
