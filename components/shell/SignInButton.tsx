"use client";
import { signIn } from "next-auth/react";

export function SignInButton({ callbackUrl }: { callbackUrl: string }) {
  return (
    <button
      type="button"
      onClick={() => signIn("entra", { callbackUrl })}
      className="w-full rounded bg-brand px-4 py-2 font-semibold text-white hover:bg-brand-dark"
    >
      Sign in with Microsoft
    </button>
  );
}
