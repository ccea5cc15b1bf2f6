import { createMailboxWriter, createScheduler, type MailboxWriter, type Scheduler } from "@/lib/m365";
import { botKeyContext, decryptSecret } from "@/lib/secrets";
import { createStagingStore, type StagingStore } from "@/lib/staging";
import { createSymphonyClient, type SymphonyClient } from "@/lib/symphony";
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
export function mailboxWriterFor(tenantId: string, environment: PipelineEnvironment): MailboxWriter {
  const settings = { ...environment.m365, tenantId };
  const cacheKey = [tenantId, settings.clientId, settings.graphBaseUrl].join("|");
  let scheduler = schedulers.get(cacheKey);
  if (!scheduler) {
    scheduler = createScheduler(environment.graphScheduler);
    schedulers.set(cacheKey, scheduler);
  }
  return createMailboxWriter({ settings, scheduler });
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

export function symphonyClientFor(connector: Connector): SymphonyClient {
  const { podUrl, agentUrl, keyManagerUrl, botUsername, privateKeyEncrypted } = connector;
  if (!podUrl || !agentUrl || !keyManagerUrl || !botUsername || !privateKeyEncrypted) {
    throw new RunSetupError(`Connector "${connector.name}" has no complete Symphony sign-in settings`);
  }
  return createSymphonyClient({
    podUrl,
    agentUrl,
    keyManagerUrl,
    botUsername,
    privateKeyPem: decryptSecret(privateKeyEncrypted, botKeyContext(connector.id)),
  });
}
