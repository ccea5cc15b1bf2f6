"use client";
import { signIn } from "next-auth/react";

export function SignInButton({ callbackUrl }: { callbackUrl: string }) {
  return (
    <button
      type="button"
      onClick={() => signIn("entra", { callbackUrl })}
      className="bg-brand hover:bg-brand-dark w-full rounded px-4 py-2 font-semibold text-white"
    >
      Sign in with Microsoft
    </button>
  );
}
