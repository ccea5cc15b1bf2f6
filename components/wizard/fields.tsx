"use client";
import Link from "next/link";
import {
  useEffect,
  useLayoutEffect,
  useRef,
  useState,
  useTransition,
  type ChangeEvent,
  type MouseEvent,
  type ReactNode,
} from "react";
import { useFormStatus } from "react-dom";

export const inputClass =
  "w-full rounded border border-gray-500 bg-white px-2 py-1.5 aria-[invalid=true]:border-red-700";

/** A file input whose chooser looks like the form's other buttons. */
export const fileInputClass =
  "text-sm file:mr-3 file:cursor-pointer file:rounded file:border file:border-gray-500 file:bg-white file:px-3 file:py-1.5 file:font-semibold hover:file:bg-canvas";

export function Field({
  id,
  label,
  hint,
  error,
  children,
}: {
  id: string;
  label: string;
  hint?: ReactNode;
  error?: string;
  children: ReactNode;
}) {
  return (
    <div className="flex flex-col gap-1">
      <label htmlFor={id} className="font-semibold">
        {label}
      </label>
      {hint && (
        <p id={`${id}-hint`} className="text-muted text-xs">
          {hint}
        </p>
      )}
      {children}
      {error && (
        <p id={`${id}-error`} className="text-sm text-red-700">
          {error}
        </p>
      )}
    </div>
  );
}

/** aria attributes tying an input to its hint and error. */
export function describedBy(id: string, error?: string, hint = false) {
  const ids = [hint ? `${id}-hint` : "", error ? `${id}-error` : ""].filter(Boolean).join(" ");
  return { id, "aria-invalid": error ? true : undefined, "aria-describedby": ids || undefined } as const;
}

export function FormMessage({ message, tone = "error" }: { message?: string; tone?: "error" | "success" | "info" }) {
  if (!message) return null;
  const style = {
    error: "border-red-300 bg-red-50 text-red-800",
    success: "border-green-300 bg-green-50 text-green-800",
    info: "border-blue-300 bg-blue-50 text-blue-900",
  }[tone];
  return (
    <div role={tone === "error" ? "alert" : "status"} className={`rounded border p-3 ${style}`}>
      {message}
    </div>
  );
}

export function SubmitButton({
  children,
  name,
  value,
  formAction,
  variant = "primary",
  disabled,
}: {
  children: ReactNode;
  name?: string;
  value?: string;
  formAction?: (formData: FormData) => void;
  variant?: "primary" | "secondary";
  disabled?: boolean;
}) {
  const { pending } = useFormStatus();
  const style =
    variant === "primary"
      ? "bg-brand text-white hover:bg-brand-dark border-brand"
      : "bg-white hover:bg-canvas border-gray-500";
  return (
    <button
      type="submit"
      name={name}
      value={value}
      formAction={formAction}
      disabled={pending || disabled}
      className={`rounded border px-4 py-2 font-semibold disabled:cursor-not-allowed disabled:opacity-60 ${style}`}
    >
      {children}
    </button>
  );
}

/**
 * A button that sends the form to a second action (Test connection, Preview) and leaves every field
 * as the admin typed it: React resets a form after an action it submitted, which would empty the very
 * key or file just tested, and Next would then save what was on file instead.
 */
export function CheckButton({ action, children }: { action: (data: FormData) => void; children: ReactNode }) {
  const [pending, startTransition] = useTransition();
  const { pending: submitting } = useFormStatus();
  const onClick = (event: MouseEvent<HTMLButtonElement>) => {
    const form = event.currentTarget.form;
    if (!form) return;
    const data = new FormData(form);
    startTransition(() => action(data));
  };
  return (
    <button
      type="button"
      onClick={onClick}
      disabled={pending || submitting}
      aria-busy={pending || undefined}
      className="hover:bg-canvas rounded border border-gray-500 bg-white px-4 py-2 font-semibold disabled:cursor-not-allowed disabled:opacity-60"
    >
      {children}
    </button>
  );
}

export function StepButtons({
  backHref,
  nextLabel = "Next",
  nextDisabled,
}: {
  backHref?: string;
  nextLabel?: string;
  nextDisabled?: boolean;
}) {
  return (
    <div className="border-line mt-8 flex gap-3 border-t pt-4">
      {backHref && (
        <Link
          href={backHref}
          className="hover:bg-canvas rounded border border-gray-500 bg-white px-4 py-2 font-semibold"
        >
          Back
        </Link>
      )}
      <SubmitButton disabled={nextDisabled}>{nextLabel}</SubmitButton>
      <Link href="/connectors" className="text-brand ml-auto px-4 py-2 hover:underline">
        Cancel
      </Link>
    </div>
  );
}

/**
 * Refuses a chosen file larger than `maxBytes` in the browser (the input is emptied and `error` says
 * why), so a file the server would refuse is never uploaded.
 */
export function useFileSizeLimit(maxBytes: number, message: string) {
  const [error, setError] = useState<string>();
  const onChange = (event: ChangeEvent<HTMLInputElement>) => {
    const file = event.currentTarget.files?.[0];
    if (file && file.size > maxBytes) {
      event.currentTarget.value = "";
      setError(message);
    } else {
      setError(undefined);
    }
  };
  return { error, onChange };
}

/** The field an error belongs to and what the page calls it: its label, or its group's legend. */
function fieldOf(key: string): { target: HTMLElement; label: string } | undefined {
  const input = document.getElementById(key);
  const message = document.getElementById(`${key}-error`);
  const target =
    input ?? message?.closest("fieldset")?.querySelector<HTMLElement>("input, select, textarea") ?? message;
  if (!target) return undefined;
  const labelled =
    input instanceof HTMLInputElement || input instanceof HTMLTextAreaElement || input instanceof HTMLSelectElement;
  const label =
    (labelled ? input.labels?.[0]?.textContent : undefined) ??
    target.closest("fieldset")?.querySelector("legend")?.textContent;
  return { target, label: label?.trim() || key };
}

/** Writes the field's name, read from the page, into an empty span (the page is the only place that knows it). */
function FieldName({ field }: { field: string }) {
  const span = useRef<HTMLSpanElement>(null);
  useLayoutEffect(() => {
    if (span.current) span.current.textContent = fieldOf(field)?.label ?? field;
  }, [field]);
  return <span ref={span} />;
}

/**
 * After a refused submit: one box at the top of the form naming every field to fix, each a link to
 * it, and focus moved there so keyboard and screen-reader users learn at once what went wrong. The
 * messages themselves stay next to their fields.
 */
export function ErrorSummary({ errors, attempt }: { errors: Record<string, string | undefined>; attempt?: number }) {
  const box = useRef<HTMLDivElement>(null);
  const fields = Object.entries(errors)
    .filter(([, message]) => Boolean(message))
    .map(([key]) => key);
  const shown = fields.length > 0;
  useEffect(() => {
    if (shown) box.current?.focus();
  }, [shown, attempt]);
  if (!shown) return null;
  const goTo = (key: string) => (event: MouseEvent<HTMLAnchorElement>) => {
    const field = fieldOf(key);
    if (!field) return;
    event.preventDefault();
    field.target.scrollIntoView({ block: "center" });
    field.target.focus();
  };
  return (
    <div
      ref={box}
      tabIndex={-1}
      role="alert"
      aria-labelledby="error-summary-title"
      className="mb-6 rounded border-2 border-red-700 bg-red-50 p-4 text-red-900"
    >
      <h2 id="error-summary-title" className="font-semibold">
        {fields.length === 1 ? "There is a problem with this field" : `There are problems with ${fields.length} fields`}
      </h2>
      <ul className="mt-2 list-disc pl-5">
        {fields.map((field) => (
          <li key={field}>
            <a href={`#${field}`} onClick={goTo(field)} className="underline">
              <FieldName field={field} />
            </a>
          </li>
        ))}
      </ul>
    </div>
  );
}
