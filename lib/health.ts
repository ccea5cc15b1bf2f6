import { BlobServiceClient } from "@azure/storage-blob";
import { config } from "@/lib/config";
import { db } from "@/lib/db";
import { errorMessage } from "@/lib/errors";

export interface ComponentHealth {
  ok: boolean;
  error?: string;
}

export interface Health {
  ok: boolean;
  database: ComponentHealth;
  blobStore: ComponentHealth;
}

const TIMEOUT_MS = 3_000;

async function probe(check: () => Promise<unknown>): Promise<ComponentHealth> {
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => setTimeout(() => reject(new Error(`no answer within ${TIMEOUT_MS} ms`)), TIMEOUT_MS)),
    ]);
    return { ok: true };
  } catch (error) {
    // Driver messages can quote connection strings; report only the kind of failure.
    const message = errorMessage(error);
    return { ok: false, error: message.includes("within") ? message : "unreachable or refused the connection" };
  }
}

export async function checkHealth(): Promise<Health> {
  const [database, blobStore] = await Promise.all([
    probe(() => db.$queryRaw`SELECT 1`),
    probe(async () => {
      const connectionString = config().AZURE_STORAGE_CONNECTION_STRING;
      if (!connectionString) throw new Error("not configured");
      await BlobServiceClient.fromConnectionString(connectionString).getProperties();
    }),
  ]);
  return { ok: database.ok && blobStore.ok, database, blobStore };
}
