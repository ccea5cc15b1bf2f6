"use server";
import { redirect } from "next/navigation";
import { z } from "zod";
import { adminAction, formField } from "@/lib/auth";
import { saveName, wizardHref } from "@/lib/connectors";
import type { StepState } from "../wizard";

const nameForm = z.object({ connectorId: formField.connectorId(), name: formField.text() });

export const saveNameAction = adminAction(nameForm, async ({ connectorId, name }, { actor }): Promise<StepState> => {
  if (!connectorId) redirect(wizardHref("terms"));
  const result = await saveName(connectorId, name, actor);
  if (!result.ok) return { errors: result.errors, values: { name }, attempt: Date.now() };
  redirect(wizardHref("source", connectorId));
});
