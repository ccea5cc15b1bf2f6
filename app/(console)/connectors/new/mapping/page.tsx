import type { Metadata } from "next";
import { EditNotice } from "@/components/wizard/EditNotice";
import { WizardFrame } from "@/components/wizard/WizardFrame";
import { MAX_MAPPING_BYTES, chosenName, wizardHref } from "@/lib/connectors";
import { openStep, type WizardSearchParams } from "../wizard";
import { MappingForm } from "./MappingForm";
import { UnmappedParticipants } from "../UnmappedParticipants";

export const metadata: Metadata = { title: "User mapping" };

export default async function MappingPage({ searchParams }: { searchParams: WizardSearchParams }) {
  const { connector: c } = await openStep("mapping", searchParams);
  return (
    <WizardFrame
      step="mapping"
      connectorId={c.id}
      completed={c.wizardStep}
      title="Map Symphony users to Microsoft 365 mailboxes"
      connectorName={chosenName(c)}
      notice={c.status !== "DRAFT" && <EditNotice pending={c.editPending} />}
    >
      <MappingForm
        connectorId={c.id}
        backHref={wizardHref("source", c.id)}
        maxCsvBytes={MAX_MAPPING_BYTES}
        mappingMode={c.mappingMode}
        fallbackMailbox={c.fallbackMailbox ?? ""}
        mappingCount={c.mappingCount}
      >
        <UnmappedParticipants connector={c} />
      </MappingForm>
    </WizardFrame>
  );
}
