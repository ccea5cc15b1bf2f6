import { z } from "zod";
import { sessionForRequest } from "@/lib/auth";
import { latestRunProgress } from "@/lib/connectors";

/** The latest run's state and counts, polled by the flyout while a run is queued or running. */
export async function GET(_: Request, { params }: { params: Promise<{ id: string }> }) {
  const access = await sessionForRequest({ admin: false });
  if (access.denied) return access.denied;
  const id = z.uuid().safeParse((await params).id);
  if (!id.success) return Response.json({ error: "Unknown connector." }, { status: 404 });
  return Response.json({ progress: await latestRunProgress(id.data) }, { headers: { "cache-control": "no-store" } });
}
