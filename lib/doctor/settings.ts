import path from "node:path";
import { config } from "@/lib/config";
import { errorMessage } from "@/lib/errors";
import { m365AppFromConfig } from "@/lib/pipeline";
import type { DatabaseSettings } from "./database";
import type { MicrosoftSettings } from "./microsoft";
import type { StorageSettings } from "./storage";

/** Everything the checks look at; tests give their own, the product reads it from the configuration. */
export type DoctorSettings = {
  /** APP_URL: where Entra ID sends admins back after sign-in and consent. */
  appUrl: string;
  database: DatabaseSettings;
  storage: StorageSettings;
  m365: MicrosoftSettings;
  symphony: { allowPrivateHosts: boolean };
  /** Time each check may take (default 30 s); requests inside it time out sooner. */
  timeoutMs?: number;
};

/** The settings of this process (lib/config.ts). Never throws: a missing variable is what a check reports. */
export function doctorSettingsFromConfig(): DoctorSettings {
  const c = config();
  return {
    appUrl: c.APP_URL,
    database: { url: c.DATABASE_URL, migrationsDir: path.join(process.cwd(), "prisma", "migrations") },
    storage: { connectionString: c.AZURE_STORAGE_CONNECTION_STRING, containerName: c.STAGING_CONTAINER },
    m365: {
      cloud: c.M365_CLOUD,
      tenantId: c.ENTRA_TENANT_ID,
      app: appRegistration(),
      probeMailbox: c.DOCTOR_PROBE_MAILBOX,
    },
    symphony: { allowPrivateHosts: c.SYMPHONY_ALLOW_PRIVATE_HOSTS },
  };
}

function appRegistration(): MicrosoftSettings["app"] {
  try {
    return m365AppFromConfig();
  } catch (error) {
    const message = errorMessage(error);
    // A certificate or key file that cannot be read: name the file, not Node's whole message.
    const file = /open '([^']+)'/.exec(message)?.[1];
    return {
      error: file
        ? `The file ${file} cannot be read (ENTRA_CLIENT_CERTIFICATE_PATH or ENTRA_CLIENT_KEY_PATH).`
        : message,
    };
  }
}
