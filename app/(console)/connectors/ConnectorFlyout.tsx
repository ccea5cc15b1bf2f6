import Link from "next/link";
import type { ReactNode } from "react";
import { ImportChart } from "@/components/connectors/ImportChart";
import { StatusBadge } from "@/components/connectors/StatusBadge";
import { formatCount, formatDateTime } from "@/components/connectors/format";
import { listAudit } from "@/lib/audit/audit";
import { STREAM_TYPES } from "@/lib/connectors/schemas";
import { getConnectorSettings, importedPerDay, latestRunProgress, listRuns } from "@/lib/connectors/queries";
import { FlyoutActions } from "./FlyoutActions";

const auditLabels: Record<string, string> = {
  "connector.terms_accepted": "Accepted the terms of service",
  "connector.named": "Named the connector",
  "connector.source_saved": "Saved the Symphony sign-in",
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

function Section({ title, children }: { title: string; children: ReactNode }) {
  const id = `flyout-${title.toLowerCase().replace(/\W+/g, "-")}`;
  return (
    <section aria-labelledby={id} className="border-line border-t py-4">
      <h3 id={id} className="font-semibold">
        {title}
      </h3>
      <div className="mt-2">{children}</div>
    </section>
  );
}

function Props({ rows }: { rows: [string, ReactNode][] }) {
  return (
    <dl className="grid grid-cols-[10rem_1fr] gap-x-3 gap-y-1">
      {rows.map(([label, value]) => (
        <div key={label} className="contents">
          <dt className="text-muted">{label}</dt>
          <dd className="break-words">{value}</dd>
        </div>
      ))}
    </dl>
  );
}

/** The compliance-center style side panel for one connector (opened with ?connector=<id>). */
export async function ConnectorFlyout({ id, isAdmin, closeHref }: { id: string; isAdmin: boolean; closeHref: string }) {
  const connector = await getConnectorSettings(id);
  if (!connector) return null;
  const [runs, perDay, audit, progress] = await Promise.all([
    listRuns(id),
    importedPerDay(id),
    listAudit(id, 20),
    latestRunProgress(id),
  ]);
  const last = runs.find((run) => run.status !== "QUEUED" && run.status !== "RUNNING");
  const streams = STREAM_TYPES.filter((t) => connector.streamTypes.includes(t.value))
    .map((t) => t.label)
    .join(", ");

  return (
    <>
      {/* Dims the dashboard behind the panel; a click on it closes the panel (the ✕ button is the accessible way). */}
      <Link href={closeHref} tabIndex={-1} aria-hidden="true" className="fixed inset-0 z-10 bg-black/20" />
      <aside
        aria-labelledby="flyout-title"
        className="border-line fixed inset-y-0 right-0 z-20 w-full max-w-xl overflow-y-auto border-l bg-white p-6 shadow-2xl"
      >
        <div className="flex items-start justify-between gap-4">
          <div>
            <h2 id="flyout-title" className="text-xl font-semibold">
              {connector.name}
            </h2>
            <p className="text-muted mt-1 flex items-center gap-2">
              Symphony <StatusBadge status={connector.status} />
            </p>
          </div>
          <Link href={closeHref} className="hover:bg-canvas rounded px-2 py-1 text-lg" aria-label="Close details">
            ✕
          </Link>
        </div>
        <div className="my-4">
          <FlyoutActions
            connectorId={id}
            name={connector.name}
            status={connector.status}
            isAdmin={isAdmin}
            initialProgress={progress}
          />
        </div>

        <Section title="Connector status with source">
          {last ? (
            <>
              <p className="mb-2 flex items-center gap-2">
                Last import <StatusBadge status={last.status} /> {formatDateTime(last.finishedAt ?? last.startedAt)}
              </p>
              <Props
                rows={[
                  ["Messages collected", formatCount(last.messagesCollected)],
                  ["Items imported", formatCount(last.itemsImported)],
                  ["Items skipped", formatCount(last.itemsSkipped)],
                  ["Items failed", formatCount(last.itemsFailed)],
                ]}
              />
              {last.error && (
                <p className="mt-2 rounded border border-red-300 bg-red-50 p-2 text-red-800">{last.error}</p>
              )}
            </>
          ) : (
            <p className="text-muted">
              {connector.status === "DRAFT" ? "Setup is not finished yet." : "No import has finished yet."}
            </p>
          )}
        </Section>

        <Section title="Items imported per day">
          <ImportChart data={perDay} everImported={runs.some((run) => run.itemsImported > 0)} />
        </Section>

        <Section title="Properties">
          <Props
            rows={[
              ["Pod", connector.podUrl ?? "—"],
              ["Bot user name", connector.botUsername ?? "—"],
              ["Private key", connector.hasPrivateKey ? "Key on file" : "Missing"],
              ["Collects", streams || "—"],
              ["From", connector.startDate ? connector.startDate.toISOString().slice(0, 10) : "The whole history"],
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
        </Section>

        <Section title="Run history">
          {runs.length === 0 ? (
            <p className="text-muted">No runs yet.</p>
          ) : (
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
                    <td>
                      {run.trigger === "MANUAL" ? "Manual" : run.trigger === "SCHEDULE" ? "Schedule" : "Continuous"}
                    </td>
                    <td>
                      <StatusBadge status={run.status} />
                    </td>
                    <td className="text-right tabular-nums">{formatCount(run.itemsImported)}</td>
                    <td className="text-right tabular-nums">{formatCount(run.itemsFailed)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </Section>

        <Section title="Audit trail">
          <ol className="space-y-1">
            {audit.map((event) => (
              <li key={String(event.id)}>
                <span className="text-muted">{formatDateTime(event.at)}</span> ·{" "}
                {auditLabels[event.action] ?? event.action} · {event.actor}
              </li>
            ))}
          </ol>
        </Section>
      </aside>
    </>
  );
}
