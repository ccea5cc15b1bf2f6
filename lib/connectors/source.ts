// The Symphony source step's rules that need the saved connector: which private key may be used.
import { db } from "@/lib/db";
import { botKeyContext, decryptSecret, LEGACY_SECRET_PREFIX, upgradeSecret } from "@/lib/secrets";
import { testConnection, type ConnectionReport } from "@/lib/symphony";
import {
  fieldErrors,
  sourceSettingsSchema,
  type FieldErrors,
  type SourceSettings,
  type SourceSettingsInput,
} from "./schemas";

type SavedSource = {
  id: string;
  podUrl: string | null;
  agentUrl: string | null;
  keyManagerUrl: string | null;
  privateKeyEncrypted: string | null;
};

export const KEY_NEEDED_AGAIN =
  "The pod, agent or key manager URL differs from the saved one, so paste or upload the private key again: the key on file only ever signs in to the servers it was saved with.";

/** True when every Symphony URL is the one the stored key was saved with (so the stored key may sign in there). */
function sameServers(saved: SavedSource, settings: Pick<SourceSettings, "podUrl" | "agentUrl" | "keyManagerUrl">) {
  return (
    saved.podUrl === settings.podUrl &&
    saved.agentUrl === settings.agentUrl &&
    saved.keyManagerUrl === settings.keyManagerUrl
  );
}

/**
 * The key to sign in with: the one typed, else the one on file — but only towards the servers it was
 * saved with. A login JWT signed with the stored key and sent to another host could be replayed
 * against the real pod, so any changed URL requires the key again.
 */
export function keyForServers(
  saved: SavedSource | null,
  settings: SourceSettings,
):
  | { ok: true; privateKeyPem: string }
  | { ok: true; stored: { connectorId: string; ciphertext: string } }
  | { ok: false; errors: FieldErrors } {
  if (settings.privateKeyPem) return { ok: true, privateKeyPem: settings.privateKeyPem };
  if (!saved?.privateKeyEncrypted) {
    return { ok: false, errors: { privateKeyPem: "Paste or upload the bot's RSA private key." } };
  }
  if (!sameServers(saved, settings)) return { ok: false, errors: { privateKeyPem: KEY_NEEDED_AGAIN } };
  return { ok: true, stored: { connectorId: saved.id, ciphertext: saved.privateKeyEncrypted } };
}

export type SourceTestResult = { ok: false; errors: FieldErrors } | { ok: true; report: ConnectionReport };

/** Test connection: validates the form, picks the key (typed, or on file for the same servers) and signs in. */
export async function testSource(
  connectorId: string | undefined,
  input: SourceSettingsInput,
): Promise<SourceTestResult> {
  const parsed = sourceSettingsSchema.safeParse(input);
  if (!parsed.success) return { ok: false, errors: fieldErrors(parsed.error) };
  const saved = connectorId
    ? await db.connector.findUnique({
        where: { id: connectorId },
        select: { id: true, podUrl: true, agentUrl: true, keyManagerUrl: true, privateKeyEncrypted: true },
      })
    : null;
  const key = keyForServers(saved, parsed.data);
  if (!key.ok) return key;
  const privateKeyPem =
    "stored" in key ? decryptSecret(key.stored.ciphertext, botKeyContext(key.stored.connectorId)) : key.privateKeyPem;
  return { ok: true, report: await testConnection({ ...parsed.data, privateKeyPem }) };
}

/**
 * Rewrites bot keys stored by earlier versions (no connector bound to the ciphertext) in the current
 * format. Run at `npm run db:migrate` and when a worker starts; returns how many were upgraded.
 */
export async function upgradeStoredKeys(): Promise<number> {
  const legacy = await db.connector.findMany({
    where: { privateKeyEncrypted: { startsWith: LEGACY_SECRET_PREFIX } },
    select: { id: true, privateKeyEncrypted: true },
  });
  for (const { id, privateKeyEncrypted } of legacy) {
    if (!privateKeyEncrypted) continue;
    await db.connector.updateMany({
      where: { id, privateKeyEncrypted },
      data: { privateKeyEncrypted: upgradeSecret(privateKeyEncrypted, botKeyContext(id)) },
    });
  }
  return legacy.length;
}
