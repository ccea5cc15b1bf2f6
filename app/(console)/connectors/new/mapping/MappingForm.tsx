"use client";
import { useActionState, useState, type ReactNode } from "react";
import {
  Field,
  CheckButton,
  ErrorSummary,
  FormMessage,
  StepButtons,
  describedBy,
  fileInputClass,
  inputClass,
  useFileSizeLimit,
} from "@/components/wizard/fields";
import { previewMappingAction, saveMappingAction, type MappingState } from "./actions";

interface Props {
  connectorId: string;
  backHref: string;
  mappingMode: "AUTO" | "CSV";
  fallbackMailbox: string;
  mappingCount: number;
  maxCsvBytes: number;
  /** Shown above Back and Next: who the current mapping cannot reach. */
  children?: ReactNode;
}

export function MappingForm({
  connectorId,
  backHref,
  mappingMode,
  fallbackMailbox,
  mappingCount,
  maxCsvBytes,
  children,
}: Props) {
  const [saveState, save] = useActionState<MappingState, FormData>(saveMappingAction, {});
  const [previewState, preview] = useActionState<MappingState, FormData>(previewMappingAction, {});
  const state = (previewState.attempt ?? 0) > (saveState.attempt ?? 0) ? previewState : saveState;
  const [mode, setMode] = useState((state.values?.mappingMode as string) ?? mappingMode);
  const csvLimit = useFileSizeLimit(
    maxCsvBytes,
    `This file is larger than ${Math.round(maxCsvBytes / 1_048_576)} MB: split it, or keep one row per person who needs a mapping.`,
  );
  const errors: Record<string, string> = { ...state.errors };
  if (csvLimit.error) errors.csv = csvLimit.error;
  const shown = state.preview;

  return (
    <form
      action={save}
      // Only a refused save re-renders the fields; Preview keeps the chosen file for Next.
      key={saveState.attempt ?? 0}
      noValidate
      className="max-w-3xl space-y-6"
    >
      <ErrorSummary errors={state.errors ?? {}} attempt={state.attempt} />
      <input type="hidden" name="connectorId" value={connectorId} />
      <fieldset className="space-y-3">
        <legend className="font-semibold">How to find each participant&apos;s mailbox</legend>
        <label className="flex items-start gap-2">
          <input
            type="radio"
            name="mappingMode"
            value="AUTO"
            checked={mode === "AUTO"}
            onChange={() => setMode("AUTO")}
            className="mt-1"
          />
          <span>
            <span className="font-semibold">Automatic (recommended)</span>
            <span className="text-muted block">
              Use the <em>Email</em> property of each Symphony user as their Microsoft 365 address.
            </span>
          </span>
        </label>
        <label className="flex items-start gap-2">
          <input
            type="radio"
            name="mappingMode"
            value="CSV"
            checked={mode === "CSV"}
            onChange={() => setMode("CSV")}
            className="mt-1"
          />
          <span>
            <span className="font-semibold">Upload a mapping file (CSV)</span>
            <span className="text-muted block">
              For people whose Symphony address differs. Everyone else is still mapped by Email.
            </span>
          </span>
        </label>
      </fieldset>

      {mode === "CSV" && (
        <div className="border-line bg-canvas/50 space-y-3 rounded border p-4">
          <p className="text-muted">
            One line per person:{" "}
            <code className="rounded bg-white px-1">Symphony email or user id,Microsoft 365 mailbox</code>. A header
            line is optional.
            {mappingCount > 0 && ` ${mappingCount} mappings are on file; a new file replaces them.`}
          </p>
          <Field id="csv" label="Mapping file" error={errors.csv}>
            <input
              type="file"
              name="csv"
              accept=".csv,text/csv"
              onChange={csvLimit.onChange}
              className={fileInputClass}
              {...describedBy("csv", errors.csv)}
            />
          </Field>
          <CheckButton action={preview}>Preview</CheckButton>
          {shown && <MappingPreview preview={shown} />}
        </div>
      )}

      <Field
        id="fallbackMailbox"
        label="Fallback mailbox (optional)"
        hint="Items of participants who cannot be mapped go here. Leave empty to skip them; they are listed in the status log."
        error={errors.fallbackMailbox}
      >
        <input
          name="fallbackMailbox"
          type="email"
          defaultValue={state.values?.fallbackMailbox ?? fallbackMailbox}
          placeholder="symphony-archive@contoso.com"
          className={`${inputClass} max-w-md`}
          {...describedBy("fallbackMailbox", errors.fallbackMailbox, true)}
        />
      </Field>
      {children}
      <StepButtons backHref={backHref} />
    </form>
  );
}

function MappingPreview({ preview }: { preview: NonNullable<MappingState["preview"]> }) {
  const errorCount = preview.errors.length + preview.moreErrors;
  const shownErrors = preview.errors.slice(0, 50);
  return (
    <div className="space-y-3">
      {preview.errors.length > 0 ? (
        <div role="alert" className="rounded border border-red-300 bg-red-50 p-3 text-red-800">
          <p className="font-semibold">
            {preview.fileName}: {errorCount} line{errorCount === 1 ? "" : "s"} cannot be used
          </p>
          <ul className="mt-1 list-disc pl-5">
            {shownErrors.map((error) => (
              <li key={`${error.line}-${error.message}`}>
                {error.line > 0 ? `Line ${error.line}: ` : ""}
                {error.message}
              </li>
            ))}
            {errorCount > shownErrors.length ? <li>…and {errorCount - shownErrors.length} more</li> : null}
          </ul>
        </div>
      ) : (
        <FormMessage tone="success" message={`${preview.fileName}: ${preview.total} mappings, no errors.`} />
      )}
      {preview.rows.length > 0 && (
        <table className="w-full bg-white text-left">
          <caption className="sr-only">Mapping preview</caption>
          <thead className="border-line text-muted border-b text-xs uppercase">
            <tr>
              <th scope="col" className="px-3 py-1">
                Line
              </th>
              <th scope="col" className="px-3 py-1">
                Symphony email or user id
              </th>
              <th scope="col" className="px-3 py-1">
                Microsoft 365 mailbox
              </th>
            </tr>
          </thead>
          <tbody>
            {preview.rows.map((row) => (
              <tr key={row.line} className="border-line border-b">
                <td className="px-3 py-1 tabular-nums">{row.line}</td>
                <td className="px-3 py-1">{row.symphonyKey}</td>
                <td className="px-3 py-1">{row.mailbox}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {preview.total > preview.rows.length && (
        <p className="text-muted text-xs">
          Showing the first {preview.rows.length} of {preview.total}.
        </p>
      )}
    </div>
  );
}
