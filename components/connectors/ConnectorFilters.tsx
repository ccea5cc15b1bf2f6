import { CONNECTOR_STATES, CONNECTOR_STATE_LABELS } from "@/lib/connectors";

const statuses = [["", "All statuses"], ...CONNECTOR_STATES.map((state) => [state, CONNECTOR_STATE_LABELS[state]])];

/** Plain GET form: filtering works without JavaScript and the URL can be shared. */
export function ConnectorFilters({ search, status }: { search: string; status: string }) {
  return (
    <form role="search" method="get" action="/connectors" className="flex flex-wrap items-end gap-3">
      <label className="flex flex-col gap-1">
        <span className="text-muted text-xs font-semibold">Search by name</span>
        <input
          type="search"
          name="q"
          defaultValue={search}
          className="w-64 rounded border border-gray-400 bg-white px-2 py-1.5"
        />
      </label>
      <label className="flex flex-col gap-1">
        <span className="text-muted text-xs font-semibold">Status</span>
        <select name="status" defaultValue={status} className="rounded border border-gray-400 bg-white px-2 py-1.5">
          {statuses.map(([value, label]) => (
            <option key={value} value={value}>
              {label}
            </option>
          ))}
        </select>
      </label>
      <button
        type="submit"
        className="hover:bg-canvas rounded border border-gray-400 bg-white px-3 py-1.5 font-semibold"
      >
        Filter
      </button>
    </form>
  );
}
