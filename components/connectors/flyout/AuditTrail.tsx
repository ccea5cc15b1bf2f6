import type { AuditRow } from "@/lib/audit";
import { formatDateTime } from "../format";

const auditLabels: Record<string, string> = {
  "connector.terms_accepted": "Accepted the terms of service",
  "connector.named": "Named the connector",
  "connector.source_saved": "Saved the source settings",
  "connector.sftp_host_key_confirmed": "Confirmed the SFTP server's host key",
  "connector.mapping_saved": "Saved the user mapping",
  "connector.consent_requested": "Requested admin consent",
  "connector.consent_granted": "Admin consent granted",
  "connector.consent_refused": "Admin consent refused",
  "connector.finished": "Finished setup",
  "connector.updated": "Saved changes",
  "connector.paused": "Paused",
  "connector.resumed": "Resumed",
  "import.requested": "Requested an import",
};

/** Who changed what and when, newest first. */
export function AuditTrail({ events }: { events: AuditRow[] }) {
  return (
    <ol className="space-y-1">
      {events.map((event) => (
        <li key={String(event.id)}>
          <span className="text-muted">{formatDateTime(event.at)}</span> · {auditLabels[event.action] ?? event.action} ·{" "}
          {event.actor}
        </li>
      ))}
    </ol>
  );
}
