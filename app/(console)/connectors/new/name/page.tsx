import type { Metadata } from "next";
import { NAME_MAX, wizardHref } from "@/lib/connectors";
import { WizardFrame } from "@/components/wizard/WizardFrame";
import { openStep, type WizardSearchParams } from "../wizard";
import { NameForm } from "./NameForm";

export const metadata: Metadata = { title: "Name the connector" };

export default async function NamePage({ searchParams }: { searchParams: WizardSearchParams }) {
  const { connector: connectorRow } = await openStep("name", searchParams);
  const provisional = connectorRow.name.startsWith("Untitled connector ") && connectorRow.wizardStep < 2;
  return (
    <WizardFrame
      step="name"
      connectorId={connectorRow.id}
      completed={connectorRow.wizardStep}
      title="Name the connector"
      connectorName={connectorRow.name}
    >
      <NameForm
        connectorId={connectorRow.id}
        backHref={wizardHref("terms", connectorRow.id)}
        name={provisional ? "" : connectorRow.name}
        maxLength={NAME_MAX}
      />
    </WizardFrame>
  );
}
