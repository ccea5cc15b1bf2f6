import { NextResponse, type NextRequest } from "next/server";
import { actorName, sessionForRequest } from "@/lib/auth";
import { config } from "@/lib/config";
import { completeConsent, consentCallbackSchema, wizardHref } from "@/lib/connectors";

/** Where the admin-consent page sends the admin back (see lib/connectors/consent.ts for what is checked). */
export async function GET(request: NextRequest) {
  const access = await sessionForRequest({ admin: true });
  if (access.denied) return access.denied;
  const params = consentCallbackSchema.safeParse(Object.fromEntries(request.nextUrl.searchParams));
  if (!params.success) return Response.json({ error: "Malformed consent response." }, { status: 400 });
  const outcome = await completeConsent(params.data, {
    oid: access.user.oid,
    actor: actorName(access.user),
    tid: access.user.tid,
  });
  if (outcome.kind === "unknown-state") {
    return Response.json(
      {
        error:
          "This consent response does not match a consent request you started in this app (unknown, reused or another admin's state).",
      },
      { status: 400 },
    );
  }
  const target = new URL(wizardHref("consent", outcome.connectorId), config().APP_URL);
  target.searchParams.set("consent", outcome.kind);
  if (outcome.kind === "refused") target.searchParams.set("reason", outcome.reason);
  if (outcome.kind === "granted" && outcome.pending) target.searchParams.set("pending", "1");
  return NextResponse.redirect(target, 303);
}
