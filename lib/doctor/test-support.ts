// For the doctor's tests: settings pointing at the tests' PostgreSQL and Azurite, and a check by id.
import path from "node:path";
import type { MicrosoftSettings } from "./microsoft";
import type { DoctorSettings } from "./settings";
import type { CheckResult, DoctorReport } from "./types";

/** The tests' database and storage; Microsoft 365 unconfigured (its token check fails at once) unless given. */
export function testSettings(m365: Partial<MicrosoftSettings> = {}, containerName = "doctor-test"): DoctorSettings {
  return {
    appUrl: "http://localhost:3000",
    database: { url: process.env.DATABASE_URL, migrationsDir: path.join(process.cwd(), "prisma", "migrations") },
    storage: { connectionString: process.env.AZURE_STORAGE_CONNECTION_STRING, containerName },
    m365: {
      cloud: "worldwide",
      tenantId: undefined,
      app: { error: "not configured in this test" },
      probeMailbox: undefined,
      ...m365,
    },
    symphony: { allowPrivateHosts: true },
  };
}

export function checkOf(report: DoctorReport, id: string): CheckResult {
  const found = report.groups.flatMap((group) => group.checks).find((candidate) => candidate.id === id);
  if (!found) throw new Error(`no check ${id} in the report`);
  return found;
}
