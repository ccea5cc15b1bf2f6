import type { NextRequest } from "next/server";
import { sessionForRequest } from "@/lib/auth";
import { statusLogFileName, statusLogFilterSchema, statusLogStream } from "@/lib/connectors";

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
  return new Response(statusLogStream(id, filter.data), {
    headers: {
      "content-type": "text/csv; charset=utf-8",
      "content-disposition": `attachment; filename="${fileName}"`,
      "cache-control": "no-store",
    },
  });
}
