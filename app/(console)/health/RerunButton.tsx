"use client";
import { useFormStatus } from "react-dom";

/** The submit button of the "Run checks again" form; says so while the checks run. */
export function RerunButton() {
  const { pending } = useFormStatus();
  return (
    <button
      type="submit"
      disabled={pending}
      className="bg-brand hover:bg-brand-dark rounded px-4 py-2 font-semibold text-white disabled:opacity-60"
    >
      {pending ? "Running checks…" : "Run checks again"}
    </button>
  );
}
