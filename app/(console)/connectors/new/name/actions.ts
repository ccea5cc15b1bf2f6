"use server";
import { redirect } from "next/navigation";
import { saveName } from "@/lib/connectors/wizard";
import { wizardHref } from "@/lib/connectors/steps";
import { actionContext, type StepState } from "../wizard";

export async function saveNameAction(_: StepState, formData: FormData): Promise<StepState> {
  const { actor, connectorId } = await actionContext(formData);
  if (!connectorId) redirect(wizardHref("terms"));
  const name = String(formData.get("name") ?? "");
  const result = await saveName(connectorId, name, actor);
  if (!result.ok) return { errors: result.errors, values: { name }, attempt: Date.now() };
  redirect(wizardHref("source", connectorId));
}
