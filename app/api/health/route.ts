import { publicHealth } from "@/lib/doctor";

export const dynamic = "force-dynamic";

/** Liveness of the parts the product needs: 200 when all are up, 503 naming what is down. */
export async function GET() {
  const health = await publicHealth();
  const down = Object.entries({ database: health.database, blobStore: health.blobStore })
    .filter(([, component]) => !component.ok)
    .map(([name]) => name);
  return Response.json(
    { status: health.ok ? "ok" : `down: ${down.join(", ")}`, database: health.database, blobStore: health.blobStore },
    { status: health.ok ? 200 : 503, headers: { "cache-control": "no-store" } },
  );
}
