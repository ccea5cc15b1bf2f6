import type { Metadata } from "next";
import { formatDateTime } from "@/components/connectors/format";
import { WizardFrame } from "@/components/wizard/WizardFrame";
import { chosenName } from "@/lib/connectors";
import { openStep, type WizardSearchParams } from "../wizard";
import { TermsForm } from "./TermsForm";

export const metadata: Metadata = { title: "Terms of service" };

export default async function TermsPage({ searchParams }: { searchParams: WizardSearchParams }) {
  const { connector } = await openStep("terms", searchParams);
  return (
    <WizardFrame
      step="terms"
      connectorId={connector?.id}
      completed={connector?.wizardStep ?? 0}
      title="Terms of service"
      connectorName={connector && chosenName(connector)}
    >
      <div className="text-ink max-w-2xl space-y-3">
        <p>
          This connector reads your Symphony organisation&apos;s chat messages, room messages and wall posts (from
          Symphony&apos;s Content Export, its real-time Datahose, or the conversations its service account is in, as you
          choose in the next steps), converts each one to an email message and imports it into the Microsoft 365
          mailboxes of the people in the conversation, in an Inbox subfolder named <strong>Symphony</strong>.
        </p>
        <ul className="list-disc space-y-1 pl-5">
          <li>Your organisation is responsible for having the right to archive these conversations.</li>
          <li>Converted items are staged in your own Azure Storage account before they are imported.</li>
          <li>
            Each item is imported once per mailbox; every item imported, skipped or failed is recorded in the status
            log.
          </li>
          <li>Who accepted these terms, and when, is recorded with the connector.</li>
        </ul>
        {connector?.termsAcceptedAt && (
          <p className="text-muted">
            Accepted by {connector.termsAcceptedBy} on {formatDateTime(connector.termsAcceptedAt)}.
          </p>
        )}
      </div>
      <div className="mt-6">
        <TermsForm connectorId={connector?.id} accepted={Boolean(connector?.termsAcceptedAt)} />
      </div>
    </WizardFrame>
  );
}
