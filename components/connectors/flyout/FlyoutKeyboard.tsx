"use client";
import { useRouter } from "next/navigation";
import { useEffect } from "react";

/**
 * Keyboard behaviour of the connector flyout: focus moves into it when it opens, Escape closes it,
 * and focus goes back to the connector's row in the table when it closes (by Escape, ✕ or a click).
 */
export function FlyoutKeyboard({ closeHref, titleId, rowId }: { closeHref: string; titleId: string; rowId: string }) {
  const router = useRouter();
  useEffect(() => {
    document.getElementById(titleId)?.focus();
    const onKey = (event: KeyboardEvent) => {
      if (event.key !== "Escape" || event.defaultPrevented) return;
      event.preventDefault();
      router.push(closeHref, { scroll: false });
    };
    document.addEventListener("keydown", onKey);
    return () => {
      document.removeEventListener("keydown", onKey);
      // The row's link is still in the dashboard once the flyout is gone.
      requestAnimationFrame(() => document.getElementById(rowId)?.focus());
    };
  }, [closeHref, titleId, rowId, router]);
  return null;
}
