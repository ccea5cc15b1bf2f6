"use client";
import { useActionState } from "react";
import { ErrorSummary, Field, StepButtons, describedBy, inputClass } from "@/components/wizard/fields";
import { saveNameAction } from "./actions";

export function NameForm({
  connectorId,
  backHref,
  name,
  maxLength,
}: {
  connectorId: string;
  backHref: string;
  name: string;
  maxLength: number;
}) {
  const [state, action] = useActionState(saveNameAction, {});
  const error = state.errors?.name;
  return (
    <form action={action} key={state.attempt} noValidate className="max-w-lg">
      <ErrorSummary errors={{ name: error }} attempt={state.attempt} />
      <input type="hidden" name="connectorId" value={connectorId} />
      <Field
        id="name"
        label="Connector name"
        hint={`Up to ${maxLength} characters. It identifies this connector on the dashboard and in the status log.`}
        error={error}
      >
        <input
          name="name"
          defaultValue={state.values?.name ?? name}
          maxLength={maxLength + 20}
          className={inputClass}
          {...describedBy("name", error, true)}
        />
      </Field>
      <StepButtons backHref={backHref} />
    </form>
  );
}
