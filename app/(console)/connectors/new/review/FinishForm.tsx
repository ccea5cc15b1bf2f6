"use client";
import { useActionState } from "react";
import { FormMessage, StepButtons } from "@/components/wizard/fields";
import { finishAction } from "./actions";

export function FinishForm({
  connectorId,
  backHref,
  isDraft,
  canFinish,
}: {
  connectorId: string;
  backHref: string;
  isDraft: boolean;
  canFinish: boolean;
}) {
  const [state, action] = useActionState(finishAction, {});
  return (
    <form action={action}>
      <input type="hidden" name="connectorId" value={connectorId} />
      <FormMessage message={state.message} />
      <StepButtons backHref={backHref} nextLabel={isDraft ? "Finish" : "Save changes"} nextDisabled={!canFinish} />
    </form>
  );
}
