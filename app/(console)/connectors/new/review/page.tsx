import type { Metadata } from "next";
import Link from "next/link";
import type { ReactNode } from "react";
import { formatDateTime } from "@/components/connectors/format";
import { sourceRows } from "@/components/connectors/source-rows";
import { EditNotice } from "@/components/wizard/EditNotice";
import { Warning } from "@/components/wizard/Warning";
import { WizardFrame } from "@/components/wizard/WizardFrame";
import { STREAM_TYPES, chosenName, samePodWarning, wizardHref, type WizardStepSlug } from "@/lib/connectors";
import { openStep, type WizardSearchParams } from "../wizard";
import { UnmappedParticipants } from "../UnmappedParticipants";
import { discardEditAction } from "./actions";
import { FinishForm } from "./FinishForm";

export const metadata: Metadata = { title: "Review" };

function Section({
  title,
  step,
  connectorId,
  children,
}: {
  title: string;
  step: WizardStepSlug;
  connectorId: string;
  children: ReactNode;
}) {
  return (
    <section className="border-line border-b py-4">
      <div className="flex items-baseline justify-between">
        <h2 className="font-semibold">{title}</h2>
        <Link href={wizardHref(step, connectorId)} className="text-brand hover:underline">
          Edit<span className="sr-only"> {title}</span>
        </Link>
      </div>
      <dl className="mt-2 grid grid-cols-[minmax(0,12rem)_minmax(0,1fr)] gap-x-4 gap-y-1">{children}</dl>
    </section>
  );
}

function Row({ label, value }: { label: string; value: ReactNode }) {
  return (
    <>
      <dt className="text-muted">{label}</dt>
      <dd className="[overflow-wrap:anywhere]">{value}</dd>
    </>
  );
}

export default async function ReviewPage({ searchParams }: { searchParams: WizardSearchParams }) {
  const { connector: c } = await openStep("review", searchParams);
  const samePod = await samePodWarning(c);
  const consented = Boolean(c.consentGrantedAt && c.tenantId);
  const streams = STREAM_TYPES.filter((t) => c.streamTypes.includes(t.value))
    .map((t) => t.label)
    .join(", ");
  return (
    <WizardFrame
      step="review"
      connectorId={c.id}
      completed={c.wizardStep}
      title={c.status === "DRAFT" ? "Review and finish" : "Edit connector"}
      connectorName={chosenName(c)}
      notice={
        c.status !== "DRAFT" && (
          <EditNotice pending={c.editPending}>
            {c.editPending && (
              <form action={discardEditAction} className="mt-2">
                <input type="hidden" name="connectorId" value={c.id} />
                <button type="submit" className="text-brand font-semibold hover:underline">
                  Discard changes
                </button>
              </form>
            )}
          </EditNotice>
        )
      }
    >
      <Section title="Terms of service" step="terms" connectorId={c.id}>
        <Row label="Accepted" value={`${c.termsAcceptedBy ?? "—"} on ${formatDateTime(c.termsAcceptedAt)}`} />
      </Section>
      <Section title="Name" step="name" connectorId={c.id}>
        <Row label="Name" value={c.name} />
      </Section>
      <Section title="Source" step="source" connectorId={c.id}>
        {sourceRows(c, streams).map(([label, value]) => (
          <Row key={label} label={label} value={value} />
        ))}
      </Section>
      {samePod && (
        <div className="mt-4">
          <Warning title="Two connectors on one pod">{samePod}</Warning>
        </div>
      )}
      <Section title="User mapping" step="mapping" connectorId={c.id}>
        <Row
          label="Mapping"
          value={
            c.mappingMode === "AUTO" ? "Automatic, by Email" : `CSV file (${c.mappingCount} mappings), then by Email`
          }
        />
        <Row label="Fallback mailbox" value={c.fallbackMailbox ?? "None: unmapped items are skipped and logged"} />
      </Section>
      <UnmappedParticipants connector={c} framed={false} />
      <Section title="Admin consent" step="consent" connectorId={c.id}>
        <Row
          label="Consent"
          value={
            consented
              ? `Tenant ${c.tenantId}, by ${c.consentGrantedBy} on ${formatDateTime(c.consentGrantedAt)}`
              : "Not granted: required to finish"
          }
        />
      </Section>
      <p className="text-muted mt-4">
        {c.status === "DRAFT"
          ? "Finish activates the connector and starts its first import now; after that it runs every "
          : "The connector runs every "}
        {c.scheduleIntervalMinutes >= 60
          ? `${c.scheduleIntervalMinutes / 60} hours`
          : `${c.scheduleIntervalMinutes} minutes`}
        .
      </p>
      <FinishForm
        connectorId={c.id}
        backHref={wizardHref("consent", c.id)}
        isDraft={c.status === "DRAFT"}
        canFinish={consented}
      />
    </WizardFrame>
  );
}
