import { Suspense } from "react";
import { MappingReportView } from "@/components/wizard/MappingReportView";
import { checkConnectorMapping } from "@/lib/connectors";
import type { ConnectorSettings } from "@/lib/connectors";

async function Check({ connector }: { connector: ConnectorSettings }) {
  return (
    <MappingReportView check={await checkConnectorMapping(connector.id)} fallbackMailbox={connector.fallbackMailbox} />
  );
}

/** Shown on the User mapping step (framed) and among the Review step's sections: who cannot be mapped with the saved settings. */
export function UnmappedParticipants({ connector, framed = true }: { connector: ConnectorSettings; framed?: boolean }) {
  return (
    <section
      aria-labelledby="unmapped-title"
      className={framed ? "border-line mt-8 max-w-3xl rounded border p-4" : "border-line border-b py-4"}
    >
      <h2 id="unmapped-title" className="font-semibold">
        Participants who cannot be mapped
      </h2>
      <div className="mt-2">
        <Suspense fallback={<p className="text-muted">Checking Symphony users…</p>}>
          <Check connector={connector} />
        </Suspense>
      </div>
    </section>
  );
}
