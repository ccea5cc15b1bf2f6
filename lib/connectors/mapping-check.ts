// The wizard's mapping check for a saved connector: its Symphony users, its CSV rows and, once the
// tenant has consented, the Microsoft 365 directory. Results are kept briefly per saved state.
import { db } from "@/lib/db";
import { createMailboxWriter, M365AuthError } from "@/lib/m365";
import { environmentFromConfig } from "@/lib/pipeline";
import { botKeyContext, decryptSecret } from "@/lib/secrets";
import { createSymphonyClient, type SymphonyClient } from "@/lib/symphony";
import { asEdited, pendingEditOf } from "./pending-edit";
import { mappingReport, type DirectoryLookup, type MappingReport, type Participant } from "./unmapped";

export type MappingCheck =
  | {
      ok: true;
      report: MappingReport;
      directory: "checked" | "no-consent" | { failed: string };
      /** The connector's bot user (its Symphony email, else its user name): never a participant. */
      serviceAccount: string;
    }
  | { ok: false; message: string; serviceAccount?: string };

const CACHE_MS = 5 * 60_000;
const CACHE_ENTRIES = 50;
const cache = new Map<string, { at: number; check: Promise<MappingCheck> }>();

/** The check for the connector as saved now; a saved change (mapping, consent, source) starts a new one. */
export async function checkConnectorMapping(connectorId: string): Promise<MappingCheck> {
  const connector = await db.connector.findUnique({ where: { id: connectorId }, select: { updatedAt: true } });
  if (!connector) return { ok: false, message: "This connector no longer exists." };
  const key = `${connectorId}:${connector.updatedAt.getTime()}`;
  const hit = cache.get(key);
  if (hit && Date.now() - hit.at < CACHE_MS) return hit.check;
  const check = runCheck(connectorId);
  cache.set(key, { at: Date.now(), check });
  while (cache.size > CACHE_ENTRIES) cache.delete(cache.keys().next().value!);
  // A failed check (Symphony or Microsoft 365 unreachable) is tried again on the next visit.
  const forget = () => cache.delete(key);
  check.then((result) => (!result.ok || typeof result.directory === "object") && forget(), forget);
  return check;
}

async function runCheck(connectorId: string): Promise<MappingCheck> {
  const saved = await db.connector.findUnique({
    where: { id: connectorId },
    include: {
      mappings: { select: { symphonyKey: true, mailbox: true } },
      pendingMappings: { select: { symphonyKey: true, mailbox: true } },
    },
  });
  // The connector as the wizard shows it: an active one's edit not yet applied over its settings.
  const c = saved && {
    ...asEdited(saved),
    mappings: pendingEditOf(saved).mapping?.csvReplaced ? saved.pendingMappings : saved.mappings,
  };
  if (c?.sourceKind === "CONTENT_EXPORT" && (!c.agentUrl || !c.keyManagerUrl)) {
    return {
      ok: false,
      message:
        "Content Export names people by their Symphony address, so who cannot be mapped is known from the export files: after each run the status log lists them as skipped, with the reason, and their items go to the fallback mailbox if you name one. People of other companies are never mapped automatically.",
      ...(c.botUsername ? { serviceAccount: c.botUsername } : {}),
    };
  }
  if (!c?.privateKeyEncrypted || !c.podUrl || !c.agentUrl || !c.botUsername) {
    return { ok: false, message: "Complete the Source step first." };
  }
  let people: Participant[];
  let serviceAccount: string;
  try {
    const client = createSymphonyClient(
      {
        podUrl: c.podUrl,
        agentUrl: c.agentUrl,
        keyManagerUrl: c.keyManagerUrl,
        botUsername: c.botUsername,
        privateKeyPem: decryptSecret(c.privateKeyEncrypted, botKeyContext(c.id)),
      },
      { retry: { maxAttempts: 1 }, requestTimeoutMs: 10_000 },
    );
    ({ people, serviceAccount } = await podPeople(client, c.botUsername));
  } catch {
    return {
      ok: false,
      message: "Could not list Symphony users with the saved sign-in details. Use Test connection on the Source step.",
    };
  }
  const rules = { mappingMode: c.mappingMode, csv: new Map(c.mappings.map((m) => [m.symphonyKey, m.mailbox])) };
  if (!c.tenantId || !c.consentGrantedAt) {
    return { ok: true, report: await mappingReport(people, rules), directory: "no-consent", serviceAccount };
  }
  const writer = createMailboxWriter({ settings: { ...environmentFromConfig().m365, tenantId: c.tenantId } });
  const lookUp: DirectoryLookup = (address) => writer.resolveMailbox(address);
  try {
    return { ok: true, report: await mappingReport(people, rules, lookUp), directory: "checked", serviceAccount };
  } catch (error) {
    const failed =
      error instanceof M365AuthError
        ? "Microsoft 365 refused the directory lookup: admin consent is missing or was revoked."
        : "Microsoft 365 could not be reached for the directory lookup.";
    return { ok: true, report: await mappingReport(people, rules), directory: { failed }, serviceAccount };
  }
}

/**
 * The pod's users but the connector's own bot (named apart: it is never a recipient); people of
 * another company than the bot's are external.
 */
async function podPeople(
  client: SymphonyClient,
  botUsername: string,
): Promise<{ people: Participant[]; serviceAccount: string }> {
  await client.authenticate();
  const users = await client.listUsers();
  const bot = users.find((u) => u.userAttributes.userName === botUsername);
  const ourCompany = bot?.userAttributes.companyName ?? undefined;
  const people = users
    .filter((u) => u !== bot)
    .map(({ userAttributes: a, userSystemInfo }) => ({
      id: userSystemInfo.id,
      email: a.emailAddress ?? undefined,
      displayName: a.displayName ?? undefined,
      company: a.companyName ?? undefined,
      external: Boolean(ourCompany && a.companyName && a.companyName !== ourCompany),
    }));
  return { people, serviceAccount: bot?.userAttributes.emailAddress || botUsername };
}
