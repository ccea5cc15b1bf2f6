"use server";
import { redirect } from "next/navigation";
import { beginConsent } from "@/lib/connectors/wizard";
import { wizardHref } from "@/lib/connectors/steps";
import { actionContext } from "../wizard";

/** Leaves for the authority's admin-consent page; /api/consent/callback brings the admin back. */
export async function provideConsentAction(formData: FormData): Promise<void> {
  const { actor, connectorId } = await actionContext(formData);
  if (!connectorId) redirect(wizardHref("terms"));
  redirect(await beginConsent(connectorId, actor));
}
