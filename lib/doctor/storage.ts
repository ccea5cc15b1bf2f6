// Azure Blob Storage, where converted items and Content Export files are staged.
import { BlobServiceClient, RestError } from "@azure/storage-blob";
import { guarded } from "./guard";
import type { CheckResult, Outcome } from "./types";

export type StorageSettings = {
  /** AZURE_STORAGE_CONNECTION_STRING */
  connectionString: string | undefined;
  /** STAGING_CONTAINER */
  containerName: string;
};

const CHECK = { id: "storage", title: "Blob storage (staging)" };
const TRY_TIMEOUT_MS = 5_000;
/** Written and removed again by each check; nothing else uses this name. */
const PROBE_BLOB = "doctor/write-check.txt";

/**
 * `write`: the staging container is created when missing and a small blob is written and removed,
 * which is what imports need. Without it only the account is asked for its properties (/api/health).
 */
export function storageCheck(settings: StorageSettings, options: { write: boolean }): Promise<CheckResult> {
  return guarded(CHECK.id, CHECK.title, () => probe(settings, options.write));
}

async function probe({ connectionString, containerName }: StorageSettings, write: boolean): Promise<Outcome> {
  if (!connectionString) {
    return {
      status: "fail",
      detail: "AZURE_STORAGE_CONNECTION_STRING is not set.",
      fix:
        "Set it to the storage account's connection string (Azure portal: Storage account > Access keys). On embedded " +
        "defaults npm start runs Azurite and sets it: start it first, and npm run doctor uses its settings.",
    };
  }
  let service: BlobServiceClient;
  try {
    // One try, a short timeout: a check says what is wrong rather than retrying for minutes.
    service = BlobServiceClient.fromConnectionString(connectionString, {
      retryOptions: { maxTries: 1, tryTimeoutInMs: TRY_TIMEOUT_MS },
    });
  } catch {
    return {
      status: "fail",
      detail: "AZURE_STORAGE_CONNECTION_STRING is not a storage connection string.",
      fix: "Copy the whole connection string from the storage account's Access keys page (DefaultEndpointsProtocol=https;AccountName=…;AccountKey=…;EndpointSuffix=…).",
    };
  }
  const endpoint = withoutQuery(service.url);
  try {
    if (!write) {
      await service.getProperties();
      return { status: "ok", detail: `The storage account at ${endpoint} answered.` };
    }
    const container = service.getContainerClient(containerName);
    const created = await container.createIfNotExists();
    const blob = container.getBlockBlobClient(PROBE_BLOB);
    const text = `Written by the connector's doctor at ${new Date().toISOString()}.\n`;
    await blob.upload(text, Buffer.byteLength(text));
    await blob.deleteIfExists();
    return {
      status: "ok",
      detail: `Container ${containerName} at ${endpoint} ${created.succeeded ? "was created and" : "exists and"} takes writes.`,
    };
  } catch (error) {
    return { status: "fail", ...explain(error, endpoint, containerName) };
  }
}

function explain(error: unknown, endpoint: string, container: string): Omit<Outcome, "status"> {
  const status = error instanceof RestError ? error.statusCode : undefined;
  const code = (error as { code?: string }).code ?? "";
  const message = error instanceof Error ? error.message : "";
  const checkSetting = "Check AZURE_STORAGE_CONNECTION_STRING (on embedded defaults: that npm start is running).";
  if (status === 403) {
    return {
      detail: `The storage account at ${endpoint} refused the credentials of the connection string (HTTP 403${code ? ` ${code}` : ""}).`,
      fix: "Copy the current key or connection string from the storage account's Access keys page (keys change when rotated); a SAS must allow creating containers and writing and deleting blobs.",
    };
  }
  if (status === 404) {
    return {
      detail: `The storage account at ${endpoint} has no such resource (HTTP 404${code ? ` ${code}` : ""}).`,
      fix: checkSetting,
    };
  }
  if (status !== undefined && status > 0) {
    return {
      detail: `The storage account at ${endpoint} refused to ${status === 409 ? `use container ${container}` : "answer"} (HTTP ${status}${code ? ` ${code}` : ""}).`,
      fix: checkSetting,
    };
  }
  const cause = /ECONNREFUSED/.test(`${code} ${message}`)
    ? "nothing accepts connections there"
    : /ENOTFOUND|EAI_AGAIN/.test(`${code} ${message}`)
      ? "its host name is not found"
      : /timeout|aborted/i.test(`${code} ${message}`)
        ? `no answer within ${TRY_TIMEOUT_MS / 1000} seconds`
        : "the connection failed";
  return { detail: `The storage account at ${endpoint} cannot be reached: ${cause}.`, fix: checkSetting };
}

/** The endpoint without a SAS token. */
function withoutQuery(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`.replace(/\/$/, "");
  } catch {
    return "(unreadable endpoint)";
  }
}
