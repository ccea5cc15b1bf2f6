import type { MappingCheck } from "@/lib/connectors";
import type { MappingReport, Participant } from "@/lib/connectors";

const LISTED = 100;

function who(person: Participant): string {
  return `${person.displayName ?? "(no display name)"} · ${person.email ?? `Symphony user id ${person.id}`}`;
}

function summary(report: MappingReport): string {
  const parts = [
    report.mapped > 0 && `${report.mapped} mapped to a mailbox`,
    report.unmapped.length > 0 && `${report.unmapped.length} cannot be mapped`,
    report.missingMailbox.length > 0 && `${report.missingMailbox.length} mapped to an address without a mailbox`,
    report.awaitingDirectory > 0 && `${report.awaitingDirectory} to be looked up in Microsoft 365`,
  ].filter(Boolean);
  return `${report.people} Symphony users: ${parts.join(", ") || "none to map"}.`;
}

/** The connector's own bot user is never mapped: one line says so. */
function ServiceAccountNote({ serviceAccount }: { serviceAccount?: string }) {
  if (!serviceAccount) return null;
  return <p>The service account {serviceAccount} is not a participant: nothing is imported into its mailbox.</p>;
}

/** Who cannot be mapped with the saved settings, why, and what happens to their items. */
export function MappingReportView({ check, fallbackMailbox }: { check: MappingCheck; fallbackMailbox: string | null }) {
  if (!check.ok) {
    return (
      <div className="space-y-3">
        <p className="text-muted">{check.message}</p>
        <ServiceAccountNote serviceAccount={check.serviceAccount} />
      </div>
    );
  }
  const { report, directory } = check;
  const fate = fallbackMailbox
    ? `Their items are copied to the fallback mailbox ${fallbackMailbox}; the status log also lists them as skipped, with the reason.`
    : "Their items are skipped and listed in the status log as skipped, with the reason. Name a fallback mailbox to keep them.";
  return (
    <div className="space-y-3">
      <p>{summary(report)} People of other companies (external participants) are never mapped.</p>
      <ServiceAccountNote serviceAccount={check.serviceAccount} />
      {directory === "no-consent" && report.awaitingDirectory > 0 && (
        <p role="status" className="rounded border border-blue-300 bg-blue-50 p-3 text-blue-900">
          Whether each of the {report.awaitingDirectory} users with an Email has a Microsoft 365 mailbox is checked once
          admin consent is given (next step); the Review step shows the result.
        </p>
      )}
      {typeof directory === "object" && (
        <p role="alert" className="rounded border border-red-300 bg-red-50 p-3 text-red-800">
          {directory.failed} Only what is known without it is shown.
        </p>
      )}
      {report.unmapped.length > 0 && (
        <div>
          <p>
            {report.unmapped.length === 1 ? "1 participant cannot" : `${report.unmapped.length} participants cannot`} be
            mapped. {fate}
          </p>
          {/* Scrolls when long: focusable, so the keyboard can scroll it too. */}
          <ul
            aria-label="Participants who cannot be mapped"
            tabIndex={0}
            className="mt-2 max-h-60 list-disc overflow-auto pl-5"
          >
            {report.unmapped.slice(0, LISTED).map(({ person, reason }) => (
              <li key={person.id}>
                {who(person)}: {reason}
              </li>
            ))}
          </ul>
          {report.unmapped.length > LISTED && <p className="text-muted text-xs">Showing the first {LISTED}.</p>}
        </div>
      )}
      {report.missingMailbox.length > 0 && (
        <div>
          <p>
            The mapping file sends these people to an address without a Microsoft 365 mailbox; their items will fail and
            be listed in the status log as failed:
          </p>
          <ul
            aria-label="Mapped to an address without a mailbox"
            tabIndex={0}
            className="mt-2 max-h-60 list-disc overflow-auto pl-5"
          >
            {report.missingMailbox.slice(0, LISTED).map(({ person, mailbox }) => (
              <li key={person.id}>
                {who(person)} → {mailbox}
              </li>
            ))}
          </ul>
        </div>
      )}
    </div>
  );
}
