import { db } from "@/lib/db";
import { decryptSecret } from "@/lib/secrets";
import { createSymphonyClient } from "@/lib/symphony";
import { unmappedParticipants, type Participant } from "@/lib/connectors/unmapped";
import type { ConnectorSettings } from "@/lib/connectors/queries";

async function symphonyPeople(connectorId: string, c: ConnectorSettings): Promise<Participant[] | string> {
  const stored = await db.connector.findUnique({ where: { id: connectorId }, select: { privateKeyEncrypted: true } });
  if (!stored?.privateKeyEncrypted || !c.podUrl || !c.agentUrl || !c.keyManagerUrl || !c.botUsername) return "Complete Source sign-in first.";
  try {
    const client = createSymphonyClient(
      { podUrl: c.podUrl, agentUrl: c.agentUrl, keyManagerUrl: c.keyManagerUrl, botUsername: c.botUsername, privateKeyPem: decryptSecret(stored.privateKeyEncrypted) },
      { retry: { maxAttempts: 1 }, requestTimeoutMs: 10_000 },
    );
    await client.authenticate();
    const users = await client.listUsers();
    return users.map((u) => ({ id: u.userSystemInfo.id, email: u.userAttributes.emailAddress ?? undefined, displayName: u.userAttributes.displayName ?? undefined }));
  } catch {
    return "Could not list Symphony users with the saved sign-in details. Use Test connection on the previous step.";
  }
}

/** Who cannot be mapped with the settings on file, and what happens to their items. */
export async function UnmappedParticipants({ connector }: { connector: ConnectorSettings }) {
  const people = await symphonyPeople(connector.id, connector);
  if (typeof people === "string") return <p className="text-muted">{people}</p>;
  const keys = new Set((await db.userMapping.findMany({ where: { connectorId: connector.id }, select: { symphonyKey: true } })).map((m) => m.symphonyKey));
  const unmapped = unmappedParticipants(people, connector.mappingMode, keys);
  const fate = connector.fallbackMailbox
    ? `Their items go to the fallback mailbox ${connector.fallbackMailbox}.`
    : "Their items are skipped and listed in the status log as skipped (unmapped). Name a fallback mailbox to keep them.";
  if (unmapped.length === 0) return <p>All {people.length} Symphony users can be mapped with the saved settings.</p>;
  return (
    <div>
      <p>{unmapped.length} of {people.length} Symphony users cannot be mapped (no Email and no CSV line). {fate}</p>
      <ul className="mt-2 max-h-48 list-disc overflow-auto pl-5">
        {unmapped.slice(0, 100).map((p) => <li key={p.id}>{p.displayName ?? "(no display name)"} · Symphony user id {p.id}</li>)}
      </ul>
    </div>
  );
}
