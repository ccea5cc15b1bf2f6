import type { Metadata } from "next";
import Link from "next/link";
import type { ReactNode } from "react";
import { requireSession, userIsAdmin } from "@/lib/auth";
import { wizardHref } from "@/lib/connectors";
import { Breadcrumb } from "@/components/shell/Breadcrumb";

export const metadata: Metadata = { title: "Symphony connector" };

function Section({ title, children }: { title: string; children: ReactNode }) {
  return (
    <section className="border-line border-t py-5 first:border-t-0">
      <h2 className="text-lg font-semibold">{title}</h2>
      <div className="mt-2 space-y-2">{children}</div>
    </section>
  );
}

/** The product description page Purview shows before its wizard: what the connector does and needs. */
export default async function SymphonyDescriptionPage() {
  const user = await requireSession();
  const isAdmin = userIsAdmin(user);
  return (
    <div className="max-w-4xl">
      <Breadcrumb
        trail={[
          { href: "/connectors", label: "Data connectors" },
          { href: "/connectors/catalogue", label: "Catalogue" },
        ]}
        current="Symphony"
      />
      <div className="mt-2 flex flex-wrap items-start justify-between gap-4">
        <div>
          <h1 className="text-2xl font-semibold">Symphony</h1>
          <p className="text-muted mt-1 max-w-2xl">
            Archives Symphony conversations into Microsoft 365: every message becomes an email in the mailbox of each
            participant, under Inbox/Symphony, where Litigation Hold, eDiscovery and retention policies apply.
          </p>
        </div>
        {isAdmin ? (
          <Link
            href={wizardHref("terms")}
            className="bg-brand hover:bg-brand-dark rounded px-4 py-2 font-semibold text-white"
          >
            Add connector
          </Link>
        ) : (
          <p className="text-muted max-w-xs text-sm">Only connector admins can add a connector.</p>
        )}
      </div>

      <div className="mt-6 rounded-lg bg-white px-6">
        <Section title="What it captures">
          <ul className="list-disc space-y-1 pl-5">
            <li>
              <strong>Content Export</strong> (recommended): every conversation of the firm (one-to-one chats, group
              chats, rooms) with joins, leaves, edits and files, from the daily export files Symphony produces.
            </li>
            <li>
              <strong>Conversations of the service account</strong>: only the conversations the connector&apos;s service
              account is a member of. Symphony decrypts nothing else for it, whatever its roles.
            </li>
            <li>
              Each message keeps its original time, sender, participants and attachments, and its Symphony ids in
              <code className="mx-1">X-Symphony-*</code>headers so a search can find a whole conversation.
            </li>
          </ul>
        </Section>
        <Section title="Before you start">
          <p className="font-semibold">Microsoft 365</p>
          <ul className="list-disc space-y-1 pl-5">
            <li>
              A Microsoft Entra app registration with the application permission <code>User.Read.All</code>, an
              administrator who can grant admin consent (wizard step 5), and mail access limited to the archived
              mailboxes: an Exchange RBAC for Applications role assignment (<code>Application Mail.ReadWrite</code> on a
              management scope), or <code>Mail.ReadWrite</code> in Entra with an application access policy (the setup
              guide explains both).
            </li>
            <li>
              An Exchange Online mailbox for each person whose conversations you keep; others can go to a fallback
              mailbox.
            </li>
          </ul>
          <p className="pt-2 font-semibold">Symphony</p>
          <ul className="list-disc space-y-1 pl-5">
            <li>
              Content Export through the File Management API: Export Content turned on in the Admin Portal (Actiance XML
              or EML), and a service account with the <strong>Content Export Reader</strong> role and an RSA public key.
            </li>
            <li>
              Content Export through SFTP: the SFTP delivery set up by your Symphony administrator, and the
              server&apos;s address, user and key or password.
            </li>
            <li>
              Conversations of the service account: a service account with the <strong>User Provisioning</strong> role
              and an RSA public key, added to the conversations to keep.
            </li>
          </ul>
        </Section>
        <Section title="Known limits">
          <ul className="list-disc space-y-1 pl-5">
            <li>
              A message must fit the mailbox&apos;s size limit (MaxReceiveSize, 36 MB by default; an Exchange
              administrator can raise it to 150 MB). A larger one fails for that mailbox, with the reason.
            </li>
            <li>
              Content Export arrives once a day by default; messages appear after the next export and the next run.
            </li>
            <li>Symphony XML export files are not supported yet: choose Actiance XML or EML.</li>
            <li>Edits are imported as new items; nothing already imported is changed or deleted.</li>
          </ul>
        </Section>
      </div>
      <p className="mt-4">
        <Link href="/connectors/catalogue" className="text-brand underline">
          Back to the catalogue
        </Link>
      </p>
    </div>
  );
}
