"use server";
import { redirect } from "next/navigation";
import { z } from "zod";
import { adminAction, formField } from "@/lib/auth";
import { beginConsent, wizardHref } from "@/lib/connectors";

const consentForm = z.object({ connectorId: formField.connectorId() });

/** Leaves for the authority's admin-consent page; /api/consent/callback brings the admin back. */
export const provideConsentAction = adminAction(
  consentForm,
  async ({ connectorId }, { user, actor }): Promise<void> => {
    if (!connectorId) redirect(wizardHref("terms"));
    redirect(await beginConsent(connectorId, { oid: user.oid, actor }));
  },
);
