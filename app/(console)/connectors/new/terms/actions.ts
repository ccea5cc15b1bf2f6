"use server";
import { redirect } from "next/navigation";
import { acceptTerms } from "@/lib/connectors/wizard";
import { wizardHref } from "@/lib/connectors/steps";
import { actionContext, type StepState } from "../wizard";

export async function acceptTermsAction(_: StepState, formData: FormData): Promise<StepState> {
  const { actor, connectorId } = await actionContext(formData);
  if (formData.get("accept") !== "on") {
    return { errors: { accept: "Accept the terms of service to continue." } };
  }
  const result = await acceptTerms(connectorId, actor);
  if (!result.ok) return { errors: result.errors };
  redirect(wizardHref("name", result.connectorId));
}
