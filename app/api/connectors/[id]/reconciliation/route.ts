import { sessionForRequest } from "@/lib/auth";
import { reconciliationCsv, reconciliationFileName, realtimeMissesCsv } from "@/lib/connectors";

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
  const csv = missed ? await realtimeMissesCsv(id) : await reconciliationCsv(id);
  return new Response(csv, {
    headers: {
      "content-type": "text/csv; charset=utf-8",
      "content-disposition": `attachment; filename="${missed ? fileName.replace(/\.csv$/, "-missed-by-realtime.csv") : fileName}"`,
      "cache-control": "no-store",
    },
  });
}
