"use client";
import { useActionState } from "react";
import { ErrorSummary, StepButtons } from "@/components/wizard/fields";
import { acceptTermsAction } from "./actions";

export function TermsForm({ connectorId, accepted }: { connectorId?: string; accepted: boolean }) {
  const [state, action] = useActionState(acceptTermsAction, {});
  const error = state.errors?.accept;
  return (
    <form action={action} noValidate>
      <ErrorSummary errors={{ accept: error }} attempt={state.attempt} />
      {connectorId && <input type="hidden" name="connectorId" value={connectorId} />}
      <label className="flex items-start gap-2">
        <input
          id="accept"
          type="checkbox"
          name="accept"
          defaultChecked={accepted}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? "accept-error" : undefined}
          className="mt-0.5 h-4 w-4"
        />
        <span>I accept the terms of service on behalf of my organisation.</span>
      </label>
      {error && (
        <p id="accept-error" className="mt-1 text-sm text-red-700">
          {error}
        </p>
      )}
      <StepButtons />
    </form>
  );
}
