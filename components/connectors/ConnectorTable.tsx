import Link from "next/link";
import type { ConnectorRow } from "@/lib/connectors";
import { StatusBadge } from "@/components/connectors/StatusBadge";
import { formatCount, formatDateTime, hostOf } from "@/components/connectors/format";

export function ConnectorTable({
  rows,
  selectedId,
  query,
}: {
  rows: ConnectorRow[];
  selectedId?: string;
  query: string;
}) {
  return (
    <table className="w-full min-w-[48rem] border-collapse bg-white text-left">
      <caption className="sr-only">Data connectors</caption>
      <thead className="border-line text-muted border-b text-xs tracking-wide uppercase">
        <tr>
          <th scope="col" className="px-4 py-2 font-semibold">
            Name
          </th>
          <th scope="col" className="px-4 py-2 font-semibold">
            Status
          </th>
          <th scope="col" className="px-4 py-2 font-semibold">
            Source
          </th>
          <th scope="col" className="px-4 py-2 font-semibold">
            Last import
          </th>
          <th scope="col" className="px-4 py-2 text-right font-semibold">
            Items imported
          </th>
          <th scope="col" className="px-4 py-2 font-semibold">
            Next run
          </th>
        </tr>
      </thead>
      <tbody>
        {rows.map((row) => (
          <tr
            key={row.id}
            className={`border-line border-b ${row.id === selectedId ? "bg-brand-light" : "hover:bg-canvas"}`}
          >
            <td className="px-4 py-3">
              <Link
                id={connectorRowId(row.id)}
                href={`/connectors?${flyoutQuery(query, row.id)}`}
                className="text-brand font-semibold hover:underline"
              >
                {row.name}
              </Link>
            </td>
            <td className="px-4 py-3">
              <StatusBadge status={row.state} />
              {row.healthReason && (
                // Two lines here; the whole reason, with what to do, is in the connector's panel.
                <p title={row.healthReason} className="text-muted mt-1 line-clamp-2 max-w-xs text-xs">
                  {row.healthReason}
                </p>
              )}
            </td>
            <td className="px-4 py-3">Symphony · {hostOf(row.podUrl)}</td>
            <td className="px-4 py-3">{formatDateTime(row.lastRunAt)}</td>
            <td className="px-4 py-3 text-right tabular-nums">{formatCount(row.itemsImported)}</td>
            <td className="px-4 py-3">{row.status === "ACTIVE" ? formatDateTime(row.nextRunAt) : "—"}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The id of the row's link, where focus returns when the connector's flyout closes. */
export function connectorRowId(connectorId: string): string {
  return `connector-${connectorId}`;
}

function flyoutQuery(query: string, id: string): string {
  const params = new URLSearchParams(query);
  params.set("connector", id);
  return params.toString();
}
