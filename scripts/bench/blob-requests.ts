// Blob storage requests the pipeline sends during a run, counted at the HTTP client (node's
// diagnostics channel), by the operation type Azure bills them as: Put Blob / Put Block / Set Blob
// Metadata are writes, Get Blob a read, List Blobs and Create Container "list and create container",
// Get Blob Properties "other", Delete Blob free (learn.microsoft.com/azure/storage/blobs/map-rest-apis-transaction-categories).
import diagnostics from "node:diagnostics_channel";
import type { ClientRequest } from "node:http";

export type BlobRequests = { write: number; read: number; list: number; other: number; free: number };

/**
 * Sample prices per 10,000 operations, hot tier, Blob Service endpoint, from Microsoft's cost
 * estimation article (learn.microsoft.com/azure/storage/blobs/blob-storage-estimate-costs#sample-prices);
 * official prices: azure.microsoft.com/pricing/details/storage/blobs.
 */
export const HOT_TIER_PRICE_PER_10K: Omit<BlobRequests, "free"> = {
  write: 0.055,
  read: 0.0044,
  list: 0.055,
  other: 0.0044,
};

export function totalRequests(counts: BlobRequests): number {
  return counts.write + counts.read + counts.list + counts.other + counts.free;
}

/** Dollars of storage transactions for these counts at the sample hot-tier prices. */
export function transactionCost(counts: BlobRequests): number {
  return (Object.keys(HOT_TIER_PRICE_PER_10K) as Array<keyof typeof HOT_TIER_PRICE_PER_10K>).reduce(
    (sum, kind) => sum + (counts[kind] * HOT_TIER_PRICE_PER_10K[kind]) / 10_000,
    0,
  );
}

function kindOf(method: string, path: string): keyof BlobRequests {
  if (method === "DELETE") return "free";
  if (/[?&]restype=container/.test(path) && method === "PUT") return "list";
  if (/[?&]comp=list/.test(path)) return "list";
  if (method === "PUT" || method === "POST") return "write";
  if (method === "GET") return "read";
  return "other";
}

/** Counts requests to the storage endpoint of `connectionString` until `stop` is called. */
export function countBlobRequests(connectionString: string): { stop(): BlobRequests } {
  const endpoint = new URL(/BlobEndpoint=([^;]+)/.exec(connectionString)?.[1] ?? "http://127.0.0.1");
  const counts: BlobRequests = { write: 0, read: 0, list: 0, other: 0, free: 0 };
  const onStart = (message: unknown) => {
    const { request } = message as { request: ClientRequest };
    if (request.host !== endpoint.hostname || String(request.getHeader("host")) !== endpoint.host) return;
    counts[kindOf(request.method, request.path)] += 1;
  };
  diagnostics.subscribe("http.client.request.start", onStart);
  return {
    stop() {
      diagnostics.unsubscribe("http.client.request.start", onStart);
      return { ...counts };
    },
  };
}
