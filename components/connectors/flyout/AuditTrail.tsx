import type { AuditAction, AuditRow } from "@/lib/audit";
import { formatDateTime } from "../format";

const auditLabels: Record<AuditAction, string> = {
  "connector.terms_accepted": "Accepted the terms of service",
  "connector.named": "Named the connector",
  "connector.source_saved": "Saved the source settings",
  "connector.sftp_host_key_confirmed": "Confirmed the SFTP server's host key",
  "connector.mapping_saved": "Saved the user mapping",
  "connector.consent_requested": "Requested admin consent",
  "connector.consent_granted": "Admin consent granted",
  "connector.consent_refused": "Admin consent refused",
  "connector.finished": "Finished setup",
  "connector.updated": "Applied changes",
  "connector.edit_discarded": "Discarded changes not yet applied",
  "connector.paused": "Paused",
  "connector.resumed": "Resumed",
  "connector.deleted": "Deleted the connector",
  "import.requested": "Requested an import",
  "items.retried": "Retried failed items",
};

function labelOf(event: AuditRow): string {
  const detail = event.detail as {
    items?: unknown;
    applied?: unknown;
    waitsForFinish?: unknown;
    sourceTestFailed?: unknown;
  } | null;
  // Finish anyway: the admin accepted a failing Test connection (its reason stays in the event's detail).
  const accepted = typeof detail?.sourceTestFailed === "string" ? ", accepting a failing Test connection" : "";
  return `${baseLabelOf(event.action, detail ?? {})}${accepted}`;
}

function baseLabelOf(action: string, detail: { items?: unknown; applied?: unknown; waitsForFinish?: unknown }) {
  const label = auditLabels[action as AuditAction] ?? action;
  if (action === "items.retried" && typeof detail.items === "number") return `${label} (${detail.items})`;
  // Saved in Edit of a connector that imports: applied by a later Save changes, or discarded.
  if (detail.waitsForFinish === true) return `${label} (waits for Save changes)`;
  // Before Save changes applied edits (steps applied as they were saved), the event had no `applied`.
  if (action === "connector.updated" && Array.isArray(detail.applied) && detail.applied.length === 0)
    return "Saved changes (nothing to apply)";
  if (action === "connector.updated" && !Array.isArray(detail.applied)) return "Saved changes";
  return label;
}

/** Who changed what and when, newest first. */
export function AuditTrail({ events }: { events: AuditRow[] }) {
  return (
    <ol className="space-y-1">
      {events.map((event) => (
        <li key={String(event.id)}>
          <span className="text-muted">{formatDateTime(event.at)}</span> · {labelOf(event)} · {event.actor}
        </li>
      ))}
    </ol>
  );
}
