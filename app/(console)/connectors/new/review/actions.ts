"use server";
import { redirect } from "next/navigation";
import { finishWizard } from "@/lib/connectors/wizard";
import { wizardHref } from "@/lib/connectors/steps";
import { actionContext, type StepState } from "../wizard";

export async function finishAction(_: StepState, formData: FormData): Promise<StepState> {
  const { actor, connectorId } = await actionContext(formData);
  if (!connectorId) redirect(wizardHref("terms"));
  const result = await finishWizard(connectorId, actor);
  if (!result.ok) return { message: result.message };
  redirect(`/connectors?connector=${connectorId}`);
}
