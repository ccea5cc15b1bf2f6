import Link from "next/link";
import type { ReactNode } from "react";
import { SignOutButton } from "@/components/shell/SignOutButton";
import { MobileNav, SideNav } from "@/components/shell/SideNav";

interface Props {
  user: { name: string; email: string };
  isAdmin: boolean;
  children: ReactNode;
}

export function AppShell({ user, isAdmin, children }: Props) {
  return (
    <div className="flex min-h-screen flex-col">
      <a
        href="#main"
        className="focus:bg-brand sr-only focus:not-sr-only focus:absolute focus:top-2 focus:left-2 focus:z-50 focus:rounded focus:px-3 focus:py-2 focus:text-white"
      >
        Skip to main content
      </a>
      <header className="bg-brand flex h-12 items-center justify-between gap-3 px-4 text-white">
        <div className="flex min-w-0 items-center gap-3">
          <MobileNav />
          <Link href="/connectors" className="truncate font-semibold tracking-tight">
            Symphony archive connector
          </Link>
        </div>
        <div className="flex shrink-0 items-center gap-4">
          <span className="text-right leading-tight">
            <span className="hidden font-semibold sm:block">{user.name || user.email}</span>
            <span className="block text-xs text-white">{isAdmin ? "Connector admin" : "Read-only"}</span>
          </span>
          <SignOutButton />
        </div>
      </header>
      <div className="flex flex-1">
        <SideNav />
        <main id="main" tabIndex={-1} className="min-w-0 flex-1 overflow-x-auto px-4 py-6 outline-none sm:px-8">
          {children}
        </main>
      </div>
    </div>
  );
}
