import type { GraphContext } from "@/lib/m365/context";
import { createGraphTransport } from "@/lib/m365/graph";
import { createScheduler } from "@/lib/m365/scheduler";
import { parseM365Settings } from "@/lib/m365/settings";
import { createTokenProvider } from "@/lib/m365/token";
import { decryptSecret } from "@/lib/secrets";
import { createStagingStore, type StagingStore } from "@/lib/staging";
import { createSymphonyClient, type SymphonyClient } from "@/lib/symphony";
import type { Connector } from "@/lib/generated/prisma/client";
import type { PipelineEnvironment } from "./environment";

export class RunSetupError extends Error {
  override name = "RunSetupError";
}

/**
 * One Graph context per tenant and process: every run and drainer of the process shares its token
 * cache and, above all, its per-mailbox scheduler (4 requests in flight per mailbox in total).
 */
const graphContexts = new Map<string, GraphContext>();

export function graphContextFor(tenantId: string, environment: PipelineEnvironment): GraphContext {
  const settings = parseM365Settings({ ...environment.m365, tenantId });
  const cacheKey = [tenantId, settings.clientId, settings.authorityHost, settings.graphBaseUrl].join("|");
  let context = graphContexts.get(cacheKey);
  if (!context) {
    context = { graph: createGraphTransport(settings, createTokenProvider(settings)), scheduler: createScheduler(environment.graphScheduler) };
    graphContexts.set(cacheKey, context);
  }
  return context;
}

const stagingStores = new Map<string, Promise<StagingStore>>();

export function stagingStoreFor(environment: PipelineEnvironment): Promise<StagingStore> {
  const cacheKey = `${environment.staging.connectionString}|${environment.staging.containerName}`;
  let store = stagingStores.get(cacheKey);
  if (!store) {
    store = createStagingStore(environment.staging);
    store.catch(() => stagingStores.delete(cacheKey));
    stagingStores.set(cacheKey, store);
  }
  return store;
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
  return createSymphonyClient({ podUrl, agentUrl, keyManagerUrl, botUsername, privateKeyPem: decryptSecret(privateKeyEncrypted) });
}
