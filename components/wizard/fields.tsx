"use client";
import Link from "next/link";
import { useState, type ChangeEvent, type ReactNode } from "react";
import { useFormStatus } from "react-dom";

export const inputClass =
  "w-full rounded border border-gray-500 bg-white px-2 py-1.5 aria-[invalid=true]:border-red-700";

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
