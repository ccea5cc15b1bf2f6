import { NextResponse, type NextRequest } from "next/server";
import { z } from "zod";
import { actorName } from "@/lib/auth/roles";
import { sessionForRequest } from "@/lib/auth/session";
import { config } from "@/lib/config";
import { completeConsent } from "@/lib/connectors/wizard";
import { wizardHref } from "@/lib/connectors/steps";

const paramsSchema = z.object({
  state: z.string().max(200).optional(),
  admin_consent: z.string().max(10).optional(),
  tenant: z.string().max(100).optional(),
  error: z.string().max(100).optional(),
  error_description: z.string().max(1000).optional(),
});

/** Where the admin-consent page sends the admin back; the state must match the one stored on the connector. */
export async function GET(request: NextRequest) {
  const access = await sessionForRequest({ admin: true });
  if (access.denied) return access.denied;
  const params = paramsSchema.safeParse(Object.fromEntries(request.nextUrl.searchParams));
  if (!params.success) return Response.json({ error: "Malformed consent response." }, { status: 400 });
  const outcome = await completeConsent(params.data, actorName(access.user));
  const base = config().APP_URL;
  if (outcome.kind === "unknown-state") {
    return Response.json(
      { error: "This consent response does not match a consent request of this app (unknown or reused state)." },
      { status: 400 },
    );
  }
  const target = new URL(wizardHref("consent", outcome.connectorId), base);
  target.searchParams.set("consent", outcome.kind);
  if (outcome.kind === "refused") target.searchParams.set("description", outcome.description);
  return NextResponse.redirect(target, 303);
}
