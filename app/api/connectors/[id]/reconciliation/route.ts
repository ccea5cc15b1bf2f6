import { sessionForRequest } from "@/lib/auth";
import { reconciliationCsv, reconciliationFileName } from "@/lib/connectors";

/** Reconciliation report download: one CSV line per Content Export file of the connector. */
export async function GET(_request: Request, { params }: { params: Promise<{ id: string }> }) {
  const access = await sessionForRequest({ admin: false });
  if (access.denied) return access.denied;
  const { id } = await params;
  const fileName = await reconciliationFileName(id);
  if (!fileName) return Response.json({ error: "Unknown connector." }, { status: 404 });
  return new Response(await reconciliationCsv(id), {
    headers: {
      "content-type": "text/csv; charset=utf-8",
      "content-disposition": `attachment; filename="${fileName}"`,
      "cache-control": "no-store",
    },
  });
}
