import type { Metadata } from "next";
import { NAME_MAX, chosenName, wizardHref } from "@/lib/connectors";
import { WizardFrame } from "@/components/wizard/WizardFrame";
import { openStep, type WizardSearchParams } from "../wizard";
import { NameForm } from "./NameForm";

export const metadata: Metadata = { title: "Name the connector" };

export default async function NamePage({ searchParams }: { searchParams: WizardSearchParams }) {
  const { connector: connectorRow } = await openStep("name", searchParams);
  return (
    <WizardFrame
      step="name"
      connectorId={connectorRow.id}
      completed={connectorRow.wizardStep}
      title="Name the connector"
      connectorName={chosenName(connectorRow)}
    >
      <NameForm
        connectorId={connectorRow.id}
        backHref={wizardHref("terms", connectorRow.id)}
        name={chosenName(connectorRow) ?? ""}
        maxLength={NAME_MAX}
      />
    </WizardFrame>
  );
}
