import { sessionForRequest } from "@/lib/auth";
import { reconciliationFileName, reconciliationReport, StatusLogBusyError } from "@/lib/connectors";

/**
 * Reconciliation report download: one CSV line per Content Export file of the connector; with
 * `?list=missed-by-realtime`, one line per message the export had that real-time capture had missed.
 */
export async function GET(request: Request, { params }: { params: Promise<{ id: string }> }) {
  const access = await sessionForRequest({ admin: false });
  if (access.denied) return access.denied;
  const { id } = await params;
  const fileName = await reconciliationFileName(id);
  if (!fileName) return Response.json({ error: "Unknown connector." }, { status: 404 });
  const missed = new URL(request.url).searchParams.get("list") === "missed-by-realtime";
  let csv: string;
  try {
    csv = await reconciliationReport(id, { person: access.user.oid, missed });
  } catch (error) {
    if (!(error instanceof StatusLogBusyError)) throw error;
    return Response.json({ error: error.message }, { status: 503, headers: { "retry-after": "60" } });
  }
  return new Response(csv, {
    headers: {
      "content-type": "text/csv; charset=utf-8",
      "content-disposition": `attachment; filename="${missed ? fileName.replace(/\.csv$/, "-missed-by-realtime.csv") : fileName}"`,
      "cache-control": "no-store",
    },
  });
}
