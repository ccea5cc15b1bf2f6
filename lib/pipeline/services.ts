import { createMailboxWriter, createScheduler, type MailboxWriter, type Scheduler } from "@/lib/m365";
import { botKeyContext, decryptSecret, pgpKeyContext, sftpCredentialContext } from "@/lib/secrets";
import {
  createFilesApiDelivery,
  createSftpDelivery,
  readDecryptionKey,
  type DecryptionKey,
  type ExportDelivery,
} from "@/lib/content-export";
import { z } from "zod";
import { createStagingStore, type StagingStore } from "@/lib/staging";
import { createSymphonyClient, symphonySettingsSchema, type SymphonyClient } from "@/lib/symphony";
import type { Connector } from "@/lib/generated/prisma/client";
import type { PipelineEnvironment } from "./environment";
import { cachedLoad } from "@/lib/async";

export class RunSetupError extends Error {
  override name = "RunSetupError";
}

/**
 * One Graph scheduler per tenant and process: every run and helper of the process shares it, so the
 * per-mailbox limits (4 requests in flight, the request budget, Retry-After pauses) hold for all.
 */
const schedulers = new Map<string, Scheduler>();

/** A mailbox writer for one run or helper (its mailbox and folder lookups live as long as the run). */
export function mailboxWriterFor(
  tenantId: string,
  environment: PipelineEnvironment,
  options: { lookupTtlMs?: number } = {},
): MailboxWriter {
  const settings = { ...environment.m365, tenantId };
  const cacheKey = [tenantId, settings.clientId, settings.graphBaseUrl].join("|");
  let scheduler = schedulers.get(cacheKey);
  if (!scheduler) {
    scheduler = createScheduler(environment.graphScheduler);
    schedulers.set(cacheKey, scheduler);
  }
  return createMailboxWriter({ settings, scheduler, ...options });
}

const stagingStores = new Map<string, Promise<StagingStore>>();

export function stagingStoreFor(environment: PipelineEnvironment): Promise<StagingStore> {
  const cacheKey = `${environment.staging.connectionString}|${environment.staging.containerName}`;
  return cachedLoad(stagingStores, cacheKey, () => createStagingStore(environment.staging));
}

/** The connector's tenant, or why the connector cannot import yet. */
export function consentedTenant(connector: Connector): string {
  if (!connector.tenantId || !connector.consentGrantedAt) {
    throw new RunSetupError(`Connector "${connector.name}" has no admin consent from a Microsoft 365 tenant yet`);
  }
  return connector.tenantId;
}

export function symphonyClientFor(
  connector: Connector,
  options: PipelineEnvironment["symphonyClient"] = {},
): SymphonyClient {
  const { podUrl, agentUrl, keyManagerUrl, botUsername, privateKeyEncrypted } = connector;
  // The key manager URL is optional: without it the client uses simplified key delivery, or fails saying why it cannot.
  if (!podUrl || !agentUrl || !botUsername || !privateKeyEncrypted) {
    throw new RunSetupError(`Connector "${connector.name}" has no complete Symphony sign-in settings`);
  }
  const settings = symphonySettingsSchema.safeParse({
    podUrl,
    agentUrl,
    keyManagerUrl,
    botUsername,
    privateKeyPem: decryptSecret(privateKeyEncrypted, botKeyContext(connector.id)),
  });
  // Settings saved under older rules (an http:// URL of a public host, a URL with a ?query) are refused
  // now: an admin must change them, which no retry does.
  if (!settings.success) {
    const issues = settings.error.issues.map((issue) => issue.message).join("; ");
    throw new RunSetupError(`Connector "${connector.name}" has Symphony settings that cannot be used (${issues})`);
  }
  return createSymphonyClient(settings.data, options);
}

/** Where the connector's Content Export files come from (Files API or SFTP), signed in with its stored secrets. */
export function exportDeliveryFor(connector: Connector): ExportDelivery {
  if (connector.exportDelivery === "SFTP") {
    const { sftpHost, sftpPort, sftpUsername, sftpFolder, sftpCredentialEncrypted, sftpHostKeySha256 } = connector;
    if (!sftpHost || !sftpUsername || !sftpCredentialEncrypted) {
      throw new RunSetupError(`Connector "${connector.name}" has no complete SFTP settings`);
    }
    if (!sftpHostKeySha256) {
      throw new RunSetupError(
        `Connector "${connector.name}" has no confirmed SFTP host key: run Test connection in the Source step and confirm the server's fingerprint`,
      );
    }
    const credential = sftpCredentialSchema.parse(
      JSON.parse(decryptSecret(sftpCredentialEncrypted, sftpCredentialContext(connector.id))),
    );
    return createSftpDelivery({
      host: sftpHost,
      port: sftpPort,
      username: sftpUsername,
      folder: sftpFolder ?? "/",
      hostKeySha256: sftpHostKeySha256,
      ...credential,
    });
  }
  const { podUrl, botUsername, privateKeyEncrypted } = connector;
  if (!podUrl || !botUsername || !privateKeyEncrypted) {
    throw new RunSetupError(`Connector "${connector.name}" has no complete Symphony sign-in settings`);
  }
  return createFilesApiDelivery({
    podUrl,
    botUsername,
    privateKeyPem: decryptSecret(privateKeyEncrypted, botKeyContext(connector.id)),
  });
}

export const sftpCredentialSchema = z.union([
  z.object({ privateKeyPem: z.string().min(1) }),
  z.object({ password: z.string().min(1) }),
]);

export const pgpKeySchema = z.object({ armoredKey: z.string().min(1), passphrase: z.string() });

/** The connector's PGP decryption key, or null when it has none. */
export async function decryptionKeyFor(connector: Connector): Promise<DecryptionKey | null> {
  if (!connector.pgpKeyEncrypted) return null;
  const { armoredKey, passphrase } = pgpKeySchema.parse(
    JSON.parse(decryptSecret(connector.pgpKeyEncrypted, pgpKeyContext(connector.id))),
  );
  return readDecryptionKey(armoredKey, passphrase || undefined);
}
