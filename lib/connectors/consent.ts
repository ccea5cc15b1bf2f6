// Step 5, admin consent: Microsoft's admin-consent page and its callback. The callback's query string is
// input from anyone who can make the admin's browser open a URL, so nothing in it is trusted: the state
// must be the one issued to this admin, the tenant must be the signed-in admin's own (and the configured
// one), consent is tried with a real token and Graph call, and no text from the query string is ever shown.
import { randomBytes } from "node:crypto";
import { z } from "zod";
import { recordAudit } from "@/lib/audit";
import { config, isGuid, required } from "@/lib/config";
import { db } from "@/lib/db";
import { logger } from "@/lib/logger";
import { authorityUrl, M365AuthError, verifyTenantAccess } from "@/lib/m365";
import { environmentFromConfig } from "@/lib/pipeline";
import { completed, loadForEdit } from "./draft";
import { errorMessage } from "@/lib/errors";

/** Where Entra ID sends the admin back after admin consent (a redirect URI of the app registration). */
export const CONSENT_CALLBACK_PATH = "/api/consent/callback";

export function consentRedirectUri(): string {
  return new URL(CONSENT_CALLBACK_PATH, config().APP_URL).toString();
}

/** Leaving for the admin-consent page: a one-time state bound to this admin, and the URL to go to. */
export async function beginConsent(connectorId: string, admin: { oid: string; actor: string }): Promise<string> {
  await loadForEdit(connectorId);
  const state = randomBytes(24).toString("base64url");
  await db.$transaction(async (tx) => {
    await tx.connector.update({
      where: { id: connectorId },
      data: { consentState: state, consentRequestedBy: admin.oid },
    });
    await recordAudit({ connectorId, actor: admin.actor, action: "connector.consent_requested" }, tx);
  });
  const url = new URL(`${authorityUrl(required("ENTRA_TENANT_ID"), config().ENTRA_AUTHORITY_HOST)}/adminconsent`);
  url.searchParams.set("client_id", required("ENTRA_CLIENT_ID"));
  url.searchParams.set("redirect_uri", consentRedirectUri());
  url.searchParams.set("state", state);
  return url.toString();
}

/** Why consent is not recorded; the consent page words each reason itself. */
export const CONSENT_REFUSALS = {
  declined: "a global administrator declined or cancelled the consent request",
  wrong_tenant:
    "the consent came back for another Microsoft 365 organisation than yours (the one you signed in with) or than the one this connector is set up for",
  sign_in_again:
    "your sign-in does not say which Microsoft 365 organisation you belong to: sign out, sign in again and repeat the consent",
  not_proven:
    "Microsoft 365 did not let the app read the directory after consent (check the app's client secret or certificate, and that Microsoft 365 can be reached)",
  failed: "Microsoft's consent page reported an error",
} as const;
export type ConsentRefusal = keyof typeof CONSENT_REFUSALS;

export type ConsentOutcome =
  /** `pending`: recorded, but Microsoft 365 has not applied it yet (it can take minutes; the first run waits). */
  | { kind: "granted"; connectorId: string; pending: boolean }
  | { kind: "refused"; connectorId: string; reason: ConsentRefusal }
  | { kind: "unknown-state" };

export const consentCallbackSchema = z.object({
  state: z.string().max(200).optional(),
  admin_consent: z.string().max(10).optional(),
  tenant: z.string().max(100).optional(),
  error: z.string().max(100).optional(),
  error_description: z.string().max(1000).optional(),
});
export type ConsentCallback = z.infer<typeof consentCallbackSchema>;

/**
 * The tenant the callback names, when it is a GUID, the signed-in admin's own tenant (Microsoft: never
 * trust the `tenant` parameter by itself, anyone can send it) and, if one is configured, the configured one.
 */
function acceptableTenant(tenant: string | undefined, adminTenant: string): string | undefined {
  if (!tenant || !isGuid(tenant) || tenant.toLowerCase() !== adminTenant.toLowerCase()) return undefined;
  const configured = config().ENTRA_TENANT_ID;
  if (configured && isGuid(configured) && configured.toLowerCase() !== tenant.toLowerCase()) return undefined;
  return tenant.toLowerCase();
}

/**
 * Tries the consent with a token and a directory read. "pending": Microsoft 365 answered "no permission",
 * which right after consent means it has not applied it yet (Entra can take minutes to put new roles in
 * tokens); anything else (a refused secret, Microsoft 365 unreachable) is "failed".
 */
async function tryConsent(tenantId: string): Promise<"works" | "pending" | "failed"> {
  try {
    await verifyTenantAccess({ ...environmentFromConfig().m365, tenantId });
    return "works";
  } catch (error) {
    const pending = error instanceof M365AuthError && error.reason === "no-consent";
    logger.warn({ tenantId, err: errorMessage(error), pending }, "consent not in effect");
    return pending ? "pending" : "failed";
  }
}

/**
 * Coming back from the admin-consent page. The state must be the one stored for this connector and
 * issued to this admin; it is cleared whatever the outcome, so it cannot be replayed.
 */
export async function completeConsent(
  params: ConsentCallback,
  admin: { oid: string; actor: string; tid?: string },
): Promise<ConsentOutcome> {
  if (!params.state) return { kind: "unknown-state" };
  const connector = await db.connector.findFirst({
    where: { consentState: params.state, consentRequestedBy: admin.oid },
  });
  if (!connector) return { kind: "unknown-state" };
  const connectorId = connector.id;
  // Used up before anything else: of two callbacks with the same state (a double click, the back
  // button), only one goes on.
  const claimed = await db.connector.updateMany({
    where: { id: connectorId, consentState: params.state, consentRequestedBy: admin.oid },
    data: { consentState: null, consentRequestedBy: null },
  });
  if (claimed.count !== 1) return { kind: "unknown-state" };

  let refusal: ConsentRefusal | undefined;
  let tenant: string | undefined;
  let pending = false;
  if (params.error || params.admin_consent?.toLowerCase() !== "true") {
    refusal = params.error === "access_denied" || !params.error ? "declined" : "failed";
  } else if (!admin.tid) {
    refusal = "sign_in_again";
  } else {
    tenant = acceptableTenant(params.tenant, admin.tid);
    if (!tenant) {
      refusal = "wrong_tenant";
    } else {
      const tried = await tryConsent(tenant);
      if (tried === "failed") refusal = "not_proven";
      pending = tried === "pending";
    }
  }

  await db.$transaction(async (tx) => {
    if (refusal === undefined) {
      // The step as it is now: another tab may have saved a step while Graph was asked.
      const { wizardStep } = await tx.connector.findUniqueOrThrow({
        where: { id: connectorId },
        select: { wizardStep: true },
      });
      await tx.connector.update({
        where: { id: connectorId },
        data: {
          tenantId: tenant,
          consentGrantedBy: admin.actor,
          consentGrantedAt: new Date(),
          wizardStep: completed("consent", wizardStep),
        },
      });
    }
    await recordAudit(
      refusal === undefined
        ? {
            connectorId,
            actor: admin.actor,
            action: "connector.consent_granted",
            detail: { tenant: tenant ?? null, appliedYet: !pending },
          }
        : {
            connectorId,
            actor: admin.actor,
            action: "connector.consent_refused",
            // Stored for the audit trail (never rendered as the page's own message).
            detail: { reason: refusal, error: params.error ?? null },
          },
      tx,
    );
  });
  return refusal === undefined
    ? { kind: "granted", connectorId, pending }
    : { kind: "refused", connectorId, reason: refusal };
}
