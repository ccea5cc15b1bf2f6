import type { NextRequest } from "next/server";
import { sessionForRequest } from "@/lib/auth";
import { StatusLogBusyError, statusLogFileName, statusLogFilterSchema, statusLogStream } from "@/lib/connectors";

/** Status log download: ?run=<id>&from=YYYY-MM-DD&to=YYYY-MM-DD&status=imported|skipped|failed|pending (any case). */
export async function GET(request: NextRequest, { params }: { params: Promise<{ id: string }> }) {
  const access = await sessionForRequest({ admin: false });
  if (access.denied) return access.denied;
  const { id } = await params;
  const filter = statusLogFilterSchema.safeParse(Object.fromEntries(request.nextUrl.searchParams));
  if (!filter.success)
    return Response.json(
      { error: `The status log filter is not valid: ${filter.error.issues.map((i) => i.message).join("; ")}.` },
      { status: 400 },
    );
  const fileName = await statusLogFileName(id, filter.data);
  if (!fileName) return Response.json({ error: "Unknown connector." }, { status: 404 });
  let csv: ReadableStream<Uint8Array>;
  try {
    csv = await statusLogStream(id, filter.data, { person: access.user.oid });
  } catch (error) {
    if (!(error instanceof StatusLogBusyError)) throw error;
    return Response.json({ error: error.message }, { status: 503, headers: { "retry-after": "60" } });
  }
  return new Response(csv, {
    headers: {
      "content-type": "text/csv; charset=utf-8",
      "content-disposition": `attachment; filename="${fileName}"`,
      "cache-control": "no-store",
    },
  });
}
