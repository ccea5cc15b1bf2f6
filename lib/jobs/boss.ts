import PgBoss from "pg-boss";
import { required } from "@/lib/config";
import { JOB_QUEUES } from "./definitions";

const globalForBoss = globalThis as unknown as { boss?: Promise<PgBoss> };

/** A new, started pg-boss instance with the product's queues (a worker owns one; see jobQueue for the shared one). */
export async function startBoss(options: { maintenanceIntervalSeconds?: number } = {}): Promise<PgBoss> {
  const boss = new PgBoss({
    connectionString: required("DATABASE_URL"),
    schema: "pgboss",
    application_name: "symphony-connector",
    ...options,
  });
  boss.on("error", (error) => console.error("pg-boss:", error.message));
  try {
    await boss.start();
    for (const queue of JOB_QUEUES) await boss.createQueue(queue);
  } catch (error) {
    // A started instance keeps its pool and timers: the next try would add another beside it.
    await boss.stop({ graceful: false, wait: false }).catch(() => {});
    throw error;
  }
  return boss;
}

/** The process's pg-boss instance, started on first use (it creates its own schema "pgboss"). */
export function jobQueue(): Promise<PgBoss> {
  globalForBoss.boss ??= startBoss().catch((error) => {
    globalForBoss.boss = undefined;
    throw error;
  });
  return globalForBoss.boss;
}

export async function stopJobQueue(): Promise<void> {
  const boss = await globalForBoss.boss?.catch(() => undefined);
  globalForBoss.boss = undefined;
  await boss?.stop({ graceful: true, wait: true });
}
