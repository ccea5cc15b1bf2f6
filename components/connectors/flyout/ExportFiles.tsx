import type { ExportFileReport, RunRow } from "@/lib/connectors";
import { formatCount, formatDateTime } from "../format";

const statusTone: Record<string, string> = { DONE: "bg-green-50 text-green-800", FAILED: "bg-red-50 text-red-800" };
/** The formats as the Admin Portal and the Source step name them. */
const formatNames: Record<string, string> = { ACTIANCE: "Actiance XML", EML: "EML", SYMPHONY: "Symphony XML" };

function period(file: ExportFileReport): string {
  const day = (date: Date | null) => date?.toISOString().slice(0, 10) ?? "?";
  if (!file.periodStart && !file.periodEnd) return "—";
  return `${day(file.periodStart)} → ${day(file.periodEnd)}`;
}

/** The Content Export files of the connector's recent runs: what each carried and whether its hash was checked. */
export function ExportFiles({
  files,
  runs,
  reportHref,
  limit,
}: {
  files: ExportFileReport[];
  runs: RunRow[];
  reportHref: string;
  /** How many files the list shows at most (the report has them all). */
  limit: number;
}) {
  const runStarted = new Map(runs.map((run) => [run.id, run.startedAt]));
  return (
    <>
      {files.length === 0 ? (
        <p className="text-muted">No export file has been read yet.</p>
      ) : (
        <ul className="space-y-2">
          {files.map((file) => (
            <li key={String(file.id)} className="border-line rounded border p-2">
              <p className="flex flex-wrap items-center gap-2">
                <span className="font-mono text-xs break-all">{file.name}</span>
                <span className={`rounded px-2 py-0.5 text-xs font-semibold ${statusTone[file.status] ?? "bg-canvas"}`}>
                  {file.status}
                </span>
              </p>
              <p className="text-muted text-sm">
                {period(file)} · {file.format ? (formatNames[file.format] ?? file.format) : "format not known yet"} ·{" "}
                {file.messagesInFile === null
                  ? "not read yet"
                  : `${formatCount(file.messagesInFile)} messages, ${formatCount(file.items.imported)} items imported`}{" "}
                · hash {file.verifiedBy.length > 0 ? `verified (${file.verifiedBy.join(", ")})` : "not verified"}
                {file.runId && runStarted.has(file.runId)
                  ? ` · run of ${formatDateTime(runStarted.get(file.runId))}`
                  : ""}
              </p>
              {file.mismatch && (
                <p className="text-sm font-semibold text-red-800">
                  {formatCount(file.messagesInFile ?? 0)} messages in the file, {formatCount(file.messagesLedgered)} in
                  the ledger.
                </p>
              )}
              {file.reason && <p className="text-sm text-red-800">{file.reason}</p>}
            </li>
          ))}
        </ul>
      )}
      {files.length >= limit && (
        <p className="text-muted mt-2 text-sm">The {limit} newest files are shown; the report lists every file.</p>
      )}
      <p className="mt-3">
        <a href={reportHref} className="text-brand font-semibold underline" download>
          Download the reconciliation report (CSV)
        </a>
      </p>
    </>
  );
}
