"use server";
import { redirect } from "next/navigation";
import { z } from "zod";
import { adminAction, formField } from "@/lib/auth";
import { discardPendingEdit, finishWizard, wizardHref } from "@/lib/connectors";
import type { StepState } from "../wizard";

const finishForm = z.object({
  connectorId: formField.connectorId(),
  finishAnyway: z.literal("on").optional(),
  /** The source settings whose failing Test connection the admin saw (see finishWizard). */
  testedSettings: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
});

export type FinishState = StepState & { sourceFailed?: { testedSettings: string } };

export const finishAction = adminAction(
  finishForm,
  async ({ connectorId, finishAnyway, testedSettings }, { actor }): Promise<FinishState> => {
    if (!connectorId) redirect(wizardHref("terms"));
    const accepted = finishAnyway === "on" ? testedSettings : undefined;
    const result = await finishWizard(connectorId, actor, { acceptFailedSourceTest: accepted });
    if (!result.ok) return { message: result.message, sourceFailed: result.sourceFailed, attempt: Date.now() };
    redirect(`/connectors?connector=${connectorId}`);
  },
);

/** Drops the changes an Edit saved and did not apply: the connector keeps the settings in use. */
export const discardEditAction = adminAction(
  z.object({ connectorId: formField.connectorId() }),
  async ({ connectorId }, { actor }): Promise<void> => {
    if (!connectorId) redirect("/connectors");
    await discardPendingEdit(connectorId, actor);
    redirect(`/connectors?connector=${connectorId}`);
  },
);
