import type { Metadata } from "next";
import { HealthReport, reportSummary } from "@/components/health/HealthReport";
import { requireSession, userIsAdmin } from "@/lib/auth";
import { latestDoctorReport, runDoctorAndKeep } from "@/lib/doctor";
import { rerunChecksAction } from "./actions";
import { RerunButton } from "./RerunButton";

export const metadata: Metadata = { title: "Health" };
export const dynamic = "force-dynamic";

/** The doctor's checks for admins and readers; only admins run them (the first view after a start runs them for an admin). */
export default async function HealthPage() {
  const user = await requireSession();
  const isAdmin = userIsAdmin(user);
  const report = latestDoctorReport() ?? (isAdmin ? await runDoctorAndKeep() : undefined);

  return (
    <div className="max-w-4xl">
      <h1 className="text-2xl font-semibold">Health</h1>
      <p className="text-muted mt-1 max-w-3xl">
        Checks this installation against Microsoft 365, the storage, the database and each connector&apos;s Symphony
        side, and says what is wrong. <code className="text-ink">npm run doctor</code> runs the same checks from a
        terminal.
      </p>
      <div className="mt-4 flex flex-wrap items-center gap-4">
        <p role="status" className="min-w-0 flex-1 basis-64">
          {report ? reportSummary(report) : "The checks have not run since the app started; an admin can run them."}
        </p>
        {isAdmin && (
          <form action={rerunChecksAction}>
            <RerunButton />
          </form>
        )}
      </div>
      {report && <HealthReport report={report} />}
    </div>
  );
}
