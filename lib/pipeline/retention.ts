import type { PipelineEnvironment } from "./environment";
import { blobsStillNeeded } from "./ledger";
import { stagingStoreFor } from "./services";

/**
 * Removes staged items older than `days`, except those whose message still has items waiting to be
 * imported (whatever their age): a paused connector's backlog stays importable.
 */
export async function purgeStagedItems(environment: PipelineEnvironment, days: number): Promise<number> {
  const cutoff = new Date(Date.now() - days * 86_400_000);
  const store = await stagingStoreFor(environment);
  return store.purgeOlderThan(cutoff, undefined, blobsStillNeeded);
}
