import type { ConnectorSettings } from "@/lib/connectors";
import { formatDateTime } from "../format";
import { sourceRows } from "../source-rows";
import { PropertyList } from "./FlyoutSection";

/** The connector's settings as an admin reads them (never the key itself). */
export function ConnectorProperties({ connector, streams }: { connector: ConnectorSettings; streams: string }) {
  return (
    <PropertyList
      rows={[
        ...sourceRows(connector, streams),
        [
          "User mapping",
          connector.mappingMode === "AUTO"
            ? "Automatic, by Email"
            : `CSV (${connector.mappingCount} mappings), then Email`,
        ],
        ["Fallback mailbox", connector.fallbackMailbox ?? "None"],
        ["Tenant", connector.tenantId ?? "No consent yet"],
        ["Created by", `${connector.createdBy}, ${formatDateTime(connector.createdAt)}`],
        ["Next run", connector.status === "ACTIVE" ? formatDateTime(connector.nextRunAt) : "—"],
      ]}
    />
  );
}
