import type { Metadata } from "next";
import { Warning } from "@/components/wizard/Warning";
import { EditNotice } from "@/components/wizard/EditNotice";
import { WizardFrame } from "@/components/wizard/WizardFrame";
import {
  MAX_PGP_KEY_BYTES,
  MAX_PRIVATE_KEY_BYTES,
  MAX_SSH_KEY_BYTES,
  STREAM_TYPES,
  wizardHref,
  chosenName,
  samePodWarning,
  savedSourceValues,
} from "@/lib/connectors";
import { openStep, type WizardSearchParams } from "../wizard";
import { SourceForm } from "./SourceForm";

export const metadata: Metadata = { title: "Choose the source" };

export default async function SourcePage({ searchParams }: { searchParams: WizardSearchParams }) {
  const { connector: c } = await openStep("source", searchParams);
  const samePod = await samePodWarning(c);
  return (
    <WizardFrame
      step="source"
      connectorId={c.id}
      completed={c.wizardStep}
      title="Choose the source"
      connectorName={chosenName(c)}
      notice={c.status !== "DRAFT" && <EditNotice pending={c.editPending} />}
    >
      <p className="text-muted mb-6 max-w-2xl">
        Choose where the connector reads Symphony conversations from and how it signs in there. Only the settings of the
        source you choose are saved.
      </p>
      {samePod && <Warning title="Two connectors on one pod">{samePod}</Warning>}
      <SourceForm
        connectorId={c.id}
        backHref={wizardHref("name", c.id)}
        streamTypeOptions={STREAM_TYPES}
        limits={{ privateKey: MAX_PRIVATE_KEY_BYTES, sshKey: MAX_SSH_KEY_BYTES, pgpKey: MAX_PGP_KEY_BYTES }}
        saved={{ ...savedSourceValues(c), realtime: c.realtime ? "on" : "" }}
        onFile={{
          privateKey: c.hasPrivateKey,
          sftpCredential: c.hasSftpCredential,
          pgpKeyIds: c.hasPgpKey ? c.pgpKeyIds : null,
          hostKey: c.sftpHostKeySha256
            ? {
                fingerprint: c.sftpHostKeySha256,
                confirmedBy: c.sftpHostKeyConfirmedBy,
                server: `${c.sftpHost ?? ""}:${c.sftpPort}`,
              }
            : undefined,
        }}
      />
    </WizardFrame>
  );
}
