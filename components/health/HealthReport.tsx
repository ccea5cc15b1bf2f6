import type { CheckGroup, CheckResult, CheckStatus, DoctorReport } from "@/lib/doctor";

const STATUS: Record<CheckStatus, { label: string; mark: string; className: string }> = {
  ok: { label: "OK", mark: "✓", className: "bg-green-50 text-green-800 border-green-300" },
  warn: { label: "Warning", mark: "!", className: "bg-amber-50 text-amber-900 border-amber-300" },
  fail: { label: "Failed", mark: "✗", className: "bg-red-50 text-red-800 border-red-300" },
  skipped: { label: "Skipped", mark: "–", className: "bg-gray-100 text-gray-800 border-gray-300" },
};

const when = new Intl.DateTimeFormat("en-GB", { dateStyle: "medium", timeStyle: "medium", timeZone: "UTC" });

/** "Last run …: 9 OK, 1 warning, …": what the status line says about a report. */
export function reportSummary(report: DoctorReport): string {
  const { ok, warn, fail, skipped } = report.counts;
  const parts = [
    `${ok} OK`,
    `${warn} warning${warn === 1 ? "" : "s"}`,
    `${fail} failed`,
    ...(skipped > 0 ? [`${skipped} skipped`] : []),
  ];
  return `Last run ${when.format(new Date(report.ranAt))} UTC, in ${(report.durationMs / 1000).toFixed(1)} s: ${parts.join(", ")}.`;
}

/** One check's status as a labelled pill (text, not colour alone, carries the meaning). */
function StatusPill({ status }: { status: CheckStatus }) {
  const style = STATUS[status];
  return (
    <span
      className={`inline-flex w-24 shrink-0 items-center gap-1 self-start rounded-full border px-2 py-0.5 text-xs font-semibold ${style.className}`}
    >
      <span aria-hidden="true">{style.mark}</span>
      {style.label}
    </span>
  );
}

function Check({ check }: { check: CheckResult }) {
  return (
    <li className="border-line flex flex-col gap-2 border-t p-4 first:border-t-0 sm:flex-row sm:gap-4">
      <StatusPill status={check.status} />
      <div className="min-w-0 [overflow-wrap:anywhere]">
        <p className="font-semibold">{check.title}</p>
        <p className="mt-1">{check.detail}</p>
        {check.fix && check.status !== "ok" && (
          <p className="text-muted mt-1 text-sm">
            <span className="text-ink font-semibold">How to fix: </span>
            {check.fix}
          </p>
        )}
      </div>
    </li>
  );
}

function groupSummary(group: CheckGroup): string {
  const count = (status: CheckStatus) => group.checks.filter((check) => check.status === status).length;
  const fail = count("fail");
  const warn = count("warn");
  if (fail > 0) return `${fail} failed`;
  if (warn > 0) return `${warn} warning${warn === 1 ? "" : "s"}`;
  return count("ok") > 0 ? "All OK" : "Not checked";
}

/** The checks of a report, one section per group (Microsoft 365, storage and database, each connector). */
export function HealthReport({ report }: { report: DoctorReport }) {
  return (
    <div className="mt-6 space-y-6">
      {report.groups.map((group) => (
        <section key={group.id} aria-labelledby={`group-${group.id}`}>
          <div className="flex flex-wrap items-baseline justify-between gap-2">
            <h2 id={`group-${group.id}`} className="text-lg font-semibold [overflow-wrap:anywhere]">
              {group.title}
            </h2>
            <span className="text-muted text-sm">{groupSummary(group)}</span>
          </div>
          <ul className="border-line mt-2 rounded-lg border bg-white">
            {group.checks.map((check) => (
              <Check key={check.id} check={check} />
            ))}
          </ul>
        </section>
      ))}
    </div>
  );
}
