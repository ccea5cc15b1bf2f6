"use client";
import { useActionState } from "react";
import { FormMessage, StepButtons } from "@/components/wizard/fields";
import { finishAction, type FinishState } from "./actions";

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
  const [state, action] = useActionState<FinishState, FormData>(finishAction, {});
  return (
    <form action={action}>
      <input type="hidden" name="connectorId" value={connectorId} />
      <FormMessage message={state.message} />
      {state.sourceFailed && (
        <>
          {/* Finish anyway accepts the failure of these settings only: a save since is tested again. */}
          <input type="hidden" name="testedSettings" value={state.sourceFailed.testedSettings} />
          <label className="mt-3 flex items-start gap-2">
            <input type="checkbox" name="finishAnyway" className="mt-1 h-4 w-4" />
            <span>
              Finish anyway. I accept that imports fail until the source works; my name is recorded in the audit trail.
            </span>
          </label>
        </>
      )}
      <StepButtons backHref={backHref} nextLabel={isDraft ? "Finish" : "Save changes"} nextDisabled={!canFinish} />
    </form>
  );
}
