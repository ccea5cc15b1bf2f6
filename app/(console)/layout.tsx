import type { ReactNode } from "react";
import { AppShell } from "@/components/shell/AppShell";
import { requireSession, userIsAdmin } from "@/lib/auth";

export default async function ConsoleLayout({ children }: { children: ReactNode }) {
  const user = await requireSession();
  return (
    <AppShell user={user} isAdmin={userIsAdmin(user)}>
      {children}
    </AppShell>
  );
}
