"use client";
import { useActionState } from "react";
import {
  Field,
  FormMessage,
  StepButtons,
  SubmitButton,
  describedBy,
  inputClass,
  useFileSizeLimit,
} from "@/components/wizard/fields";
import { saveSourceAction, testSourceAction, type SourceState } from "./actions";

export interface SourceDefaults {
  podUrl: string;
  agentUrl: string;
  keyManagerUrl: string;
  botUsername: string;
  streamTypes: string[];
  startDate: string;
}

interface Props {
  connectorId: string;
  backHref: string;
  saved: SourceDefaults;
  hasPrivateKey: boolean;
  streamTypeOptions: readonly { value: string; label: string }[];
  maxKeyBytes: number;
}

export function SourceForm({ connectorId, backHref, saved, hasPrivateKey, streamTypeOptions, maxKeyBytes }: Props) {
  const [saveState, save] = useActionState<SourceState, FormData>(saveSourceAction, {});
  const [testState, test] = useActionState<SourceState, FormData>(testSourceAction, {});
  // Whichever action ran last decides what the form shows.
  const state = (testState.attempt ?? 0) > (saveState.attempt ?? 0) ? testState : saveState;
  const values = { ...saved, ...state.values };
  const keyLimit = useFileSizeLimit(maxKeyBytes, "This file is too large to be an RSA private key.");
  const errors: Record<string, string> = { ...state.errors };
  if (keyLimit.error) errors.privateKeyFile = keyLimit.error;
  const text = (name: keyof SourceDefaults, label: string, hint?: string, placeholder?: string) => (
    <Field id={name} label={label} hint={hint} error={errors[name]}>
      <input
        name={name}
        defaultValue={values[name]}
        placeholder={placeholder}
        className={inputClass}
        {...describedBy(name, errors[name], Boolean(hint))}
      />
    </Field>
  );

  return (
    <form
      action={save}
      key={`${saveState.attempt ?? 0}-${testState.attempt ?? 0}`}
      noValidate
      className="max-w-2xl space-y-5"
    >
      <input type="hidden" name="connectorId" value={connectorId} />
      {text("podUrl", "Pod URL", "Base URL of your Symphony pod, without /pod.", "https://acme.symphony.com")}
      {text("agentUrl", "Agent URL", "Base URL of the agent, without /agent.", "https://agent.acme.example")}
      {text(
        "keyManagerUrl",
        "Key manager URL",
        "Base URL of the key manager, without /relay.",
        "https://km.acme.example",
      )}
      {text(
        "botUsername",
        "Bot user name",
        "The service account that collects messages; it needs the User Provisioning role.",
      )}

      <fieldset className="space-y-2">
        <legend className="font-semibold">Bot RSA private key</legend>
        {hasPrivateKey && (
          <p className="text-sm">
            <span className="rounded bg-green-50 px-2 py-0.5 font-semibold text-green-800">Key on file</span> Leave both
            fields empty to keep it while the URLs above stay the same.
          </p>
        )}
        <Field id="privateKeyPem" label="Paste the key (PEM)" error={errors.privateKeyPem}>
          <textarea
            name="privateKeyPem"
            rows={4}
            autoComplete="off"
            spellCheck={false}
            placeholder="-----BEGIN PRIVATE KEY-----"
            className={`${inputClass} font-mono text-xs`}
            {...describedBy("privateKeyPem", errors.privateKeyPem)}
          />
        </Field>
        <Field id="privateKeyFile" label="…or upload the key file" error={errors.privateKeyFile}>
          <input
            type="file"
            name="privateKeyFile"
            accept=".pem,.key,text/plain"
            onChange={keyLimit.onChange}
            className="text-sm"
            {...describedBy("privateKeyFile", errors.privateKeyFile)}
          />
        </Field>
        <p className="text-muted text-xs">The key is stored encrypted and never shown again.</p>
      </fieldset>

      <fieldset aria-describedby={errors.streamTypes ? "streamTypes-error" : undefined}>
        <legend className="font-semibold">What to collect</legend>
        <div className="mt-2 grid grid-cols-2 gap-2">
          {streamTypeOptions.map((option) => (
            <label key={option.value} className="flex items-center gap-2">
              <input
                type="checkbox"
                name="streamTypes"
                value={option.value}
                defaultChecked={values.streamTypes.includes(option.value)}
                className="h-4 w-4"
              />
              {option.label}
            </label>
          ))}
        </div>
        {errors.streamTypes && (
          <p id="streamTypes-error" className="mt-1 text-sm text-red-700">
            {errors.streamTypes}
          </p>
        )}
      </fieldset>

      <Field
        id="startDate"
        label="Collect messages sent from"
        hint="Leave empty to collect the whole history."
        error={errors.startDate}
      >
        <input
          type="date"
          name="startDate"
          defaultValue={values.startDate}
          className={`${inputClass} w-48`}
          {...describedBy("startDate", errors.startDate, true)}
        />
      </Field>

      <div className="space-y-3">
        <SubmitButton formAction={test} variant="secondary">
          Test connection
        </SubmitButton>
        {testState.test && state === testState && (
          <FormMessage
            tone={testState.test.ok ? "success" : "error"}
            message={testState.test.ok ? testState.test.summary : testState.test.reason}
          />
        )}
      </div>
      <StepButtons backHref={backHref} />
    </form>
  );
}
