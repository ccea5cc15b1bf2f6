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

/**
 * A list of people that scrolls when long, framed so that it looks like it does, and says how many it
 * holds (a phone shows four or five of them at a time). Focusable, so the keyboard can scroll it too.
 */
function PeopleList({ label, items }: { label: string; items: { key: string | number; text: string }[] }) {
  const shown = items.slice(0, LISTED);
  return (
    <>
      <ul
        aria-label={label}
        tabIndex={0}
        className="border-line mt-2 max-h-60 list-disc overflow-auto rounded border py-1 pr-2 pl-7"
      >
        {shown.map(({ key, text }) => (
          <li key={key}>{text}</li>
        ))}
      </ul>
      {items.length > 4 && (
        <p className="text-muted text-xs">
          {items.length > LISTED
            ? `Showing the first ${LISTED} of ${items.length}; scroll the list to see them.`
            : `${items.length} in the list; it scrolls when they do not all fit.`}
        </p>
      )}
    </>
  );
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
    ? `Their copies go to the fallback mailbox ${fallbackMailbox}; the status log also lists them as skipped, with the reason.`
    : "The messages still reach every mapped participant's mailbox; only these people's own copies are skipped, and the status log lists them as skipped, with the reason. Name a fallback mailbox to keep a copy for them.";
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
          <PeopleList
            label="Participants who cannot be mapped"
            items={report.unmapped.map(({ person, reason }) => ({ key: person.id, text: `${who(person)}: ${reason}` }))}
          />
        </div>
      )}
      {report.missingMailbox.length > 0 && (
        <div>
          <p>
            The mapping file sends these people to an address without a Microsoft 365 mailbox; their items will fail and
            be listed in the status log as failed:
          </p>
          <PeopleList
            label="Mapped to an address without a mailbox"
            items={report.missingMailbox.map(({ person, mailbox }) => ({
              key: person.id,
              text: `${who(person)} → ${mailbox}`,
            }))}
          />
        </div>
      )}
    </div>
  );
}
