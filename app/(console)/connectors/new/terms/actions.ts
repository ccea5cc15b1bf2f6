"use server";
import { redirect } from "next/navigation";
import { z } from "zod";
import { adminAction, formField } from "@/lib/auth";
import { acceptTerms, wizardHref } from "@/lib/connectors";
import type { StepState } from "../wizard";

const termsForm = z.object({ connectorId: formField.connectorId(), accept: formField.checkbox() });

export const acceptTermsAction = adminAction(
  termsForm,
  async ({ connectorId, accept }, { actor }): Promise<StepState> => {
    if (!accept) return { errors: { accept: "Accept the terms of service to continue." } };
    const result = await acceptTerms(connectorId, actor);
    if (!result.ok) return { errors: result.errors };
    redirect(wizardHref("name", result.connectorId));
  },
);
