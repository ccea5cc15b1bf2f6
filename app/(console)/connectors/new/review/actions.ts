"use server";
import { redirect } from "next/navigation";
import { z } from "zod";
import { adminAction, formField } from "@/lib/auth";
import { finishWizard, wizardHref } from "@/lib/connectors";
import type { StepState } from "../wizard";

const finishForm = z.object({ connectorId: formField.connectorId() });

export const finishAction = adminAction(finishForm, async ({ connectorId }, { actor }): Promise<StepState> => {
  if (!connectorId) redirect(wizardHref("terms"));
  const result = await finishWizard(connectorId, actor);
  if (!result.ok) return { message: result.message };
  redirect(`/connectors?connector=${connectorId}`);
});
