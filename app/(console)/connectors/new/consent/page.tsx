import type { Metadata } from "next";
import Link from "next/link";
import { formatDateTime } from "@/components/connectors/format";
import { WizardFrame } from "@/components/wizard/WizardFrame";
import { FormMessage, SubmitButton } from "@/components/wizard/fields";
import { CONSENT_REFUSALS, chosenName, wizardHref, type ConsentRefusal } from "@/lib/connectors";
import { openStep, type WizardSearchParams } from "../wizard";
import { provideConsentAction } from "./actions";

export const metadata: Metadata = { title: "Admin consent" };

/** Our own words for the refusal; nothing from the query string is shown as the page's message. */
function refusalText(reason: string | undefined): string {
  return reason && Object.hasOwn(CONSENT_REFUSALS, reason)
    ? CONSENT_REFUSALS[reason as ConsentRefusal]
    : CONSENT_REFUSALS.declined;
}

export default async function ConsentPage({ searchParams }: { searchParams: WizardSearchParams }) {
  const { connector: c, params } = await openStep("consent", searchParams);
  const granted = Boolean(c.consentGrantedAt && c.tenantId);
  return (
    <WizardFrame
      step="consent"
      connectorId={c.id}
      completed={c.wizardStep}
      title="Admin consent"
      connectorName={chosenName(c)}
    >
      <div className="max-w-2xl space-y-4">
        <p>
          The connector writes into mailboxes with Microsoft Graph as an application. A global administrator of your
          Microsoft 365 organisation must consent once to the app&apos;s permission to read and write mail. You will be
          sent to Microsoft&apos;s consent page and brought back here.
        </p>
        {params.consent === "refused" && (
          <FormMessage
            message={`Consent was not granted: ${refusalText(params.reason)}. Ask a global administrator to sign in and accept, or check that the app registration exists in your tenant, then try again.`}
          />
        )}
        {params.consent === "granted" && granted && (
          <FormMessage
            tone="success"
            message={
              params.pending === "1"
                ? "Consent granted. Microsoft 365 can take a few minutes to apply it: the first import waits for it."
                : "Consent granted."
            }
          />
        )}
        {granted ? (
          <p className="rounded border border-green-300 bg-green-50 p-3 text-green-900">
            Consent granted for tenant <strong>{c.tenantId}</strong> by {c.consentGrantedBy} on{" "}
            {formatDateTime(c.consentGrantedAt)}.
          </p>
        ) : (
          <p className="text-muted">Consent has not been granted yet. The connector cannot be finished without it.</p>
        )}
        <form action={provideConsentAction}>
          <input type="hidden" name="connectorId" value={c.id} />
          <SubmitButton variant={granted ? "secondary" : "primary"}>
            {granted ? "Provide consent again" : "Provide consent"}
          </SubmitButton>
        </form>
      </div>
      <div className="border-line mt-8 flex gap-3 border-t pt-4">
        <Link
          href={wizardHref("mapping", c.id)}
          className="hover:bg-canvas rounded border border-gray-500 bg-white px-4 py-2 font-semibold"
        >
          Back
        </Link>
        {granted ? (
          <Link
            href={wizardHref("review", c.id)}
            className="border-brand bg-brand hover:bg-brand-dark rounded border px-4 py-2 font-semibold text-white"
          >
            Next
          </Link>
        ) : (
          <span
            aria-disabled="true"
            className="cursor-not-allowed rounded border border-gray-300 bg-gray-100 px-4 py-2 font-semibold text-gray-600"
          >
            Next
          </span>
        )}
        <Link href="/connectors" className="text-brand ml-auto px-4 py-2 hover:underline">
          Cancel
        </Link>
      </div>
    </WizardFrame>
  );
}
