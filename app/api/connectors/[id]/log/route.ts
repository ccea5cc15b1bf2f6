import type { NextRequest } from "next/server";
import { sessionForRequest } from "@/lib/auth";
import { statusLogFileName, statusLogFilterSchema, statusLogStream } from "@/lib/connectors";

/** Status log download: ?run=<id>&from=YYYY-MM-DD&to=YYYY-MM-DD&status=IMPORTED|SKIPPED|FAILED|PENDING. */
export async function GET(request: NextRequest, { params }: { params: Promise<{ id: string }> }) {
  const access = await sessionForRequest({ admin: false });
  if (access.denied) return access.denied;
  const { id } = await params;
  const fileName = await statusLogFileName(id);
  if (!fileName) return Response.json({ error: "Unknown connector." }, { status: 404 });
  const filter = statusLogFilterSchema.safeParse(Object.fromEntries(request.nextUrl.searchParams));
  if (!filter.success)
    return Response.json({ error: filter.error.issues.map((i) => i.message).join("; ") }, { status: 400 });
  return new Response(statusLogStream(id, filter.data), {
    headers: {
      "content-type": "text/csv; charset=utf-8",
      "content-disposition": `attachment; filename="${fileName}"`,
      "cache-control": "no-store",
    },
  });
}
