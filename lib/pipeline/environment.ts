import { readFileSync } from "node:fs";
import { config, required } from "@/lib/config";
import type { M365SettingsInput } from "@/lib/m365";
import type { SchedulerOptions } from "@/lib/m365";
import type { StagingStoreOptions } from "@/lib/staging";
import type { SymphonyClientOptions } from "@/lib/symphony";

/** What a run needs besides the connector row: the app registration and the staging container. */
export type PipelineEnvironment = {
  /** The app registration; the tenant is the one that consented, taken from the connector. */
  m365: Omit<M365SettingsInput, "tenantId">;
  staging: StagingStoreOptions;
  graphScheduler?: Partial<SchedulerOptions>;
  /** The Symphony client's limits (tests lower them). */
  symphonyClient?: Pick<SymphonyClientOptions, "maxResponseBytes">;
};

/** The environment described by the process's configuration (lib/config.ts). */
export function environmentFromConfig(): PipelineEnvironment {
  return {
    m365: m365AppFromConfig(),
    staging: {
      connectionString: required("AZURE_STORAGE_CONNECTION_STRING"),
      containerName: config().STAGING_CONTAINER,
      spool: spoolFromConfig(),
    },
  };
}

/** Where and how much a worker keeps of the bundles it read (lib/staging/spool.ts). */
export function spoolFromConfig(): StagingStoreOptions["spool"] {
  const c = config();
  return { dir: c.STAGING_SPOOL_DIR, maxBytes: c.STAGING_SPOOL_MB * 1024 * 1024 };
}

/** The import app registration of the configuration: its id, credential (secret or certificate files) and cloud. */
export function m365AppFromConfig(): PipelineEnvironment["m365"] {
  const c = config();
  const certificatePath = c.ENTRA_CLIENT_CERTIFICATE_PATH;
  return {
    clientId: required("ENTRA_CLIENT_ID"),
    ...(certificatePath
      ? {
          certificate: {
            certificatePem: readFileSync(certificatePath, "utf8"),
            privateKeyPem: readFileSync(required("ENTRA_CLIENT_KEY_PATH"), "utf8"),
          },
        }
      : { clientSecret: required("ENTRA_CLIENT_SECRET") }),
    authorityHost: c.ENTRA_AUTHORITY_HOST,
    graphBaseUrl: c.GRAPH_BASE_URL,
  };
}
