import Link from "next/link";
import type { ReactNode } from "react";
import { SignOutButton } from "@/components/shell/SignOutButton";
import { SideNav } from "@/components/shell/SideNav";

interface Props {
  user: { name: string; email: string };
  isAdmin: boolean;
  children: ReactNode;
}

export function AppShell({ user, isAdmin, children }: Props) {
  return (
    <div className="flex min-h-screen flex-col">
      <header className="bg-brand flex h-12 items-center justify-between px-4 text-white">
        <Link href="/connectors" className="font-semibold tracking-tight">
          Symphony archive connector
        </Link>
        <div className="flex items-center gap-4">
          <span className="text-right leading-tight">
            <span className="block font-semibold">{user.name || user.email}</span>
            <span className="block text-xs text-white">{isAdmin ? "Connector admin" : "Read-only"}</span>
          </span>
          <SignOutButton />
        </div>
      </header>
      <div className="flex flex-1">
        <SideNav />
        <main className="flex-1 overflow-x-auto px-8 py-6">{children}</main>
      </div>
    </div>
  );
}
