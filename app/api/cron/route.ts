import { config } from "@/lib/config";
import { hasBearerSecret } from "@/lib/auth";
import { enqueueDueImports } from "@/lib/jobs";

export const dynamic = "force-dynamic";

/**
 * Queues the imports whose time has come. The worker's own scheduler does this every minute; this
 * route lets an external scheduler do it too. Authorization: `Bearer $CRON_SECRET`.
 */
export async function POST(request: Request) {
  const secret = config().CRON_SECRET;
  if (!secret) return Response.json({ error: "CRON_SECRET is not configured" }, { status: 503 });
  if (!hasBearerSecret(request.headers.get("authorization"), secret)) {
    return Response.json({ error: "unauthorized" }, { status: 401 });
  }
  const queued = await enqueueDueImports();
  return Response.json({ queued: queued.length, runs: queued.map((q) => q.runId) });
}
