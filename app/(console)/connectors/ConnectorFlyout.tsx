import Link from "next/link";
import { ImportChart } from "@/components/connectors/ImportChart";
import { StatusBadge } from "@/components/connectors/StatusBadge";
import { AuditTrail } from "@/components/connectors/flyout/AuditTrail";
import { ConnectorProperties } from "@/components/connectors/flyout/ConnectorProperties";
import { FlyoutSection } from "@/components/connectors/flyout/FlyoutSection";
import { ExportFiles } from "@/components/connectors/flyout/ExportFiles";
import { FlyoutKeyboard } from "@/components/connectors/flyout/FlyoutKeyboard";
import { connectorRowId } from "@/components/connectors/ConnectorTable";
import { RunHistory } from "@/components/connectors/flyout/RunHistory";
import { SourceStatus } from "@/components/connectors/flyout/SourceStatus";
import { StreamCoverage } from "@/components/connectors/flyout/StreamCoverage";
import { RealtimeCapture } from "@/components/connectors/flyout/RealtimeCapture";
import { StatusLogDownload } from "@/components/connectors/flyout/StatusLogDownload";
import { listAudit } from "@/lib/audit";
import {
  captureStatus,
  countRetryableItems,
  connectorOverview,
  exportFileReports,
  getConnectorSettings,
  importedPerDay,
  latestCoverage,
  latestRunProgress,
  listRuns,
  STREAM_TYPES,
  wizardHref,
} from "@/lib/connectors";
import { FlyoutActions } from "./FlyoutActions";

const FLYOUT_FILES = 20;

/** The compliance-center style side panel for one connector (opened with ?connector=<id>). */
export async function ConnectorFlyout({ id, isAdmin, closeHref }: { id: string; isAdmin: boolean; closeHref: string }) {
  const connector = await getConnectorSettings(id);
  if (!connector) return null;
  const realtime =
    connector.sourceKind === "DATAHOSE" || (connector.sourceKind === "CONTENT_EXPORT" && connector.realtime);
  const [runs, perDay, audit, progress, files, coverage, overview, capture] = await Promise.all([
    listRuns(id),
    importedPerDay(id),
    listAudit(id, 20),
    latestRunProgress(id),
    connector.sourceKind === "CONTENT_EXPORT" ? exportFileReports(id, { take: FLYOUT_FILES }) : Promise.resolve(null),
    connector.sourceKind === "CONVERSATIONS" ? latestCoverage(id) : Promise.resolve(undefined),
    connectorOverview(id),
    realtime ? captureStatus(id) : Promise.resolve(undefined),
  ]);
  if (!overview) return null;
  // Only asked when the counters say some item failed: most connectors have none.
  const retryable = isAdmin && overview.totals.itemsFailed > 0 ? await countRetryableItems(id) : 0;
  const last = runs.find((run) => run.status !== "QUEUED" && run.status !== "RUNNING");
  const streams = STREAM_TYPES.filter((t) => connector.streamTypes.includes(t.value))
    .map((t) => t.label)
    .join(", ");

  return (
    <>
      {/* Dims the dashboard behind the panel; a click on it closes the panel (the ✕ button is the accessible way). */}
      <Link href={closeHref} tabIndex={-1} aria-hidden="true" className="fixed inset-0 z-10 bg-black/20" />
      <FlyoutKeyboard closeHref={closeHref} titleId="flyout-title" rowId={connectorRowId(id)} />
      <aside
        aria-labelledby="flyout-title"
        className="border-line fixed inset-y-0 right-0 z-20 w-full max-w-xl overflow-y-auto border-l bg-white p-6 shadow-2xl"
      >
        <div className="flex items-start justify-between gap-4">
          <div>
            <h2 id="flyout-title" tabIndex={-1} className="text-xl font-semibold outline-none">
              {connector.name}
            </h2>
            <p className="text-muted mt-1 flex items-center gap-2">
              Symphony <StatusBadge status={overview.health.state} />
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
            retryableItems={retryable}
          />
        </div>
        {connector.editPending && connector.status !== "DRAFT" && (
          <p role="status" className="border-brand/40 bg-brand-light mb-4 rounded border p-3 text-sm text-blue-950">
            An edit of this connector has changes to its source or user mapping that are not applied yet: its imports
            use the settings below.{" "}
            {isAdmin && (
              <Link href={wizardHref("review", id)} className="text-brand font-semibold hover:underline">
                Review the changes
              </Link>
            )}
          </p>
        )}
        <FlyoutSection title="Connector status with source">
          <SourceStatus overview={overview} last={last} isDraft={connector.status === "DRAFT"} />
        </FlyoutSection>
        <FlyoutSection title="Items imported per day">
          <ImportChart data={perDay} everImported={runs.some((run) => run.itemsImported > 0)} />
        </FlyoutSection>
        <FlyoutSection title="Properties">
          <ConnectorProperties connector={connector} streams={streams} />
        </FlyoutSection>
        {files && (
          <FlyoutSection title="Source files">
            <ExportFiles
              files={files}
              runs={runs}
              reportHref={`/api/connectors/${id}/reconciliation`}
              limit={FLYOUT_FILES}
            />
          </FlyoutSection>
        )}
        {capture !== undefined && (
          <FlyoutSection title="Real-time capture">
            <RealtimeCapture status={capture} />
          </FlyoutSection>
        )}
        {coverage !== undefined && (
          <FlyoutSection title="Conversations read">
            <StreamCoverage coverage={coverage} />
          </FlyoutSection>
        )}
        <FlyoutSection title="Run history">
          <RunHistory connectorId={id} runs={runs} />
        </FlyoutSection>
        <FlyoutSection title="Status log">
          <StatusLogDownload connectorId={id} runs={runs} conversations={connector.sourceKind === "CONVERSATIONS"} />
        </FlyoutSection>
        <FlyoutSection title="Audit trail">
          <AuditTrail events={audit} />
        </FlyoutSection>
      </aside>
    </>
  );
}
