import type { Metadata } from "next";
import Link from "next/link";
import { requireSession } from "@/lib/auth";
import { Breadcrumb } from "@/components/shell/Breadcrumb";

export const metadata: Metadata = { title: "Connector catalogue" };

/** Purview's path: Data connectors → a source's tile → its description page → Add connector. */
export default async function CataloguePage() {
  await requireSession();
  return (
    <div className="max-w-6xl">
      <Breadcrumb trail={[{ href: "/connectors", label: "Data connectors" }]} current="Catalogue" />
      <h1 className="mt-2 text-2xl font-semibold">Connector catalogue</h1>
      <p className="text-muted mt-1 max-w-3xl">
        Choose the source whose conversations you want to keep in Microsoft 365 mailboxes.
      </p>
      <ul className="mt-6 grid gap-4 sm:grid-cols-2 lg:grid-cols-3">
        <li>
          <Link
            href="/connectors/catalogue/symphony"
            className="border-line hover:border-brand focus-visible:border-brand flex h-full flex-col rounded-lg border bg-white p-5"
          >
            <span className="flex items-center gap-3">
              <span
                aria-hidden="true"
                className="bg-brand flex h-10 w-10 items-center justify-center rounded font-bold text-white"
              >
                S
              </span>
              <span>
                <span className="block font-semibold">Symphony</span>
                <span className="text-muted block text-sm">Open source · self-hosted</span>
              </span>
            </span>
            <span className="mt-3 text-sm">
              Chats, group chats and rooms of your Symphony pod, with attachments, imported into each participant&apos;s
              mailbox.
            </span>
            <span className="text-brand mt-auto pt-4 text-sm font-semibold">View details</span>
          </Link>
        </li>
        <li className="border-line text-muted flex flex-col justify-center rounded-lg border border-dashed p-5 text-sm">
          More sources will be listed here as they are built. Each one uses the same mailboxes, ledger and status logs.
        </li>
      </ul>
    </div>
  );
}
