// GET /api/health: the doctor's database and storage probes, quick (no migration check, no write),
// answered to anyone, so it says what is down but not why: the Health page and npm run doctor do.
import { databaseChecks } from "./database";
import { doctorSettingsFromConfig, type DoctorSettings } from "./settings";
import { storageCheck } from "./storage";
import type { CheckResult } from "./types";

export interface ComponentHealth {
  ok: boolean;
  error?: string;
}

export interface Health {
  ok: boolean;
  database: ComponentHealth;
  blobStore: ComponentHealth;
}

const WHY = "down: an admin sees why on the Health page or with npm run doctor";

export async function checkHealth(settings: DoctorSettings = doctorSettingsFromConfig()): Promise<Health> {
  const [[database], blobStore] = await Promise.all([
    databaseChecks(settings.database, { checkMigrations: false }),
    storageCheck(settings.storage, { write: false }),
  ]);
  const component = (check: CheckResult | undefined): ComponentHealth =>
    check?.status === "ok" ? { ok: true } : { ok: false, error: WHY };
  const result = { database: component(database), blobStore: component(blobStore) };
  return { ok: result.database.ok && result.blobStore.ok, ...result };
}

/**
 * checkHealth as the public GET /api/health runs it: one check at a time however many ask, and a
 * healthy answer reused for `healthyForMs`, so that a flood of requests from anyone cannot open a
 * database connection each. An unhealthy answer is not reused: the next request checks again.
 */
export function sharedHealthCheck(check: () => Promise<Health> = () => checkHealth(), healthyForMs = 5_000) {
  let latest: Promise<Health> | undefined;
  let reuseUntil = 0; // Infinity while a check runs
  return (): Promise<Health> => {
    if (latest && Date.now() < reuseUntil) return latest;
    reuseUntil = Infinity;
    latest = check();
    latest.then(
      (health) => (reuseUntil = health.ok ? Date.now() + healthyForMs : 0),
      () => (reuseUntil = 0),
    );
    return latest;
  };
}

/** The process's shared check for GET /api/health. */
export const publicHealth = sharedHealthCheck();
