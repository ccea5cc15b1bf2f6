"use client";
import { useActionState } from "react";
import { FormMessage, StepButtons } from "@/components/wizard/fields";
import { wizardHref } from "@/lib/connectors/steps";
import { finishAction } from "./actions";

export function FinishForm({
  connectorId,
  isDraft,
  canFinish,
}: {
  connectorId: string;
  isDraft: boolean;
  canFinish: boolean;
}) {
  const [state, action] = useActionState(finishAction, {});
  return (
    <form action={action}>
      <input type="hidden" name="connectorId" value={connectorId} />
      <FormMessage message={state.message} />
      <StepButtons
        backHref={wizardHref("consent", connectorId)}
        nextLabel={isDraft ? "Finish" : "Save changes"}
        nextDisabled={!canFinish}
      />
    </form>
  );
}
