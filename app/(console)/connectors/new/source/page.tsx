import type { Metadata } from "next";
import { WizardFrame } from "@/components/wizard/WizardFrame";
import { MAX_PRIVATE_KEY_BYTES, STREAM_TYPES, wizardHref } from "@/lib/connectors";
import { openStep, type WizardSearchParams } from "../wizard";
import { SourceForm } from "./SourceForm";

export const metadata: Metadata = { title: "Source sign-in" };

export default async function SourcePage({ searchParams }: { searchParams: WizardSearchParams }) {
  const { connector: c } = await openStep("source", searchParams);
  return (
    <WizardFrame
      step="source"
      connectorId={c.id}
      completed={c.wizardStep}
      title="Sign in to Symphony"
      connectorName={c.name}
    >
      <p className="text-muted mb-6 max-w-2xl">
        The connector collects messages with a Symphony service account (bot) that signs in with an RSA key pair.
        Register the bot&apos;s public key in the Symphony admin console, then enter its details here.
      </p>
      <SourceForm
        connectorId={c.id}
        backHref={wizardHref("name", c.id)}
        hasPrivateKey={c.hasPrivateKey}
        streamTypeOptions={STREAM_TYPES}
        maxKeyBytes={MAX_PRIVATE_KEY_BYTES}
        saved={{
          podUrl: c.podUrl ?? "",
          agentUrl: c.agentUrl ?? "",
          keyManagerUrl: c.keyManagerUrl ?? "",
          botUsername: c.botUsername ?? "",
          streamTypes: c.streamTypes,
          startDate: c.startDate ? c.startDate.toISOString().slice(0, 10) : "",
        }}
      />
    </WizardFrame>
  );
}
