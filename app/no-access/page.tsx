import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { SignOutButton } from "@/components/shell/SignOutButton";
import { currentUser, userCanRead } from "@/lib/auth";
import { config } from "@/lib/config";

export const metadata: Metadata = { title: "No access" };

/** Where a signed-in member of the tenant without the reader or admin app role lands: nothing else is shown. */
export default async function NoAccessPage() {
  const user = await currentUser();
  if (!user) redirect("/signin");
  if (userCanRead(user)) redirect("/connectors");
  const { ADMIN_ROLE, READER_ROLE } = config();
  return (
    <main className="flex min-h-screen items-center justify-center p-6">
      <div className="border-line w-full max-w-md rounded-lg border bg-white p-8 shadow-sm">
        <p className="text-muted text-xs font-semibold tracking-wide uppercase">Symphony archive connector</p>
        <h1 className="mt-2 text-xl font-semibold">You don&apos;t have access</h1>
        <p className="mt-3">
          You are signed in as <strong className="break-all">{user.email || user.name}</strong>, but your account has no
          role in this app.
        </p>
        <p className="text-muted mt-3">
          To look at connectors and their status logs you need the <code className="text-ink">{READER_ROLE}</code> app
          role; to create or change them, <code className="text-ink">{ADMIN_ROLE}</code>. Ask your Microsoft Entra
          administrator to assign you one (Enterprise applications → this app → Users and groups), then sign in again.
        </p>
        <div className="mt-6">
          <SignOutButton onPage />
        </div>
      </div>
    </main>
  );
}
