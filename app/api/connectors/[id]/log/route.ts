import type { NextRequest } from "next/server";
import { z } from "zod";
import { sessionForRequest } from "@/lib/auth/session";
import { db } from "@/lib/db";
import { statusLogFilterSchema, statusLogStream } from "@/lib/connectors/status-log";

/** Status log download: ?run=<id>&from=YYYY-MM-DD&to=YYYY-MM-DD&status=IMPORTED|SKIPPED|FAILED|PENDING. */
export async function GET(request: NextRequest, { params }: { params: Promise<{ id: string }> }) {
  const access = await sessionForRequest({ admin: false });
  if (access.denied) return access.denied;
  const id = z.uuid().safeParse((await params).id);
  const connector = id.success
    ? await db.connector.findUnique({ where: { id: id.data }, select: { id: true, name: true } })
    : null;
  if (!connector) return Response.json({ error: "Unknown connector." }, { status: 404 });
  const filter = statusLogFilterSchema.safeParse(Object.fromEntries(request.nextUrl.searchParams));
  if (!filter.success)
    return Response.json({ error: filter.error.issues.map((i) => i.message).join("; ") }, { status: 400 });
  const fileName = `${connector.name.replace(/[^\w.-]+/g, "_")}-status-log.csv`;
  return new Response(statusLogStream(connector.id, filter.data), {
    headers: {
      "content-type": "text/csv; charset=utf-8",
      "content-disposition": `attachment; filename="${fileName}"`,
      "cache-control": "no-store",
    },
  });
}
