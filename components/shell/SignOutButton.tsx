"use client";
import { signOut } from "next-auth/react";

/** In the dark header by default; `onPage` for a white page (the "no access" page). */
export function SignOutButton({ onPage = false }: { onPage?: boolean }) {
  return (
    <button
      type="button"
      onClick={() => signOut({ callbackUrl: "/signin" })}
      className={
        onPage
          ? "bg-brand hover:bg-brand-dark w-full rounded px-4 py-2 font-semibold text-white"
          : "rounded border border-white/60 px-3 py-1 text-sm hover:bg-white/10"
      }
    >
      Sign out
    </button>
  );
}
