import PgBoss from "pg-boss";
import { required } from "@/lib/config";

export const IMPORT_QUEUE = "connector-import";
export const SCHEDULER_QUEUE = "connector-scheduler";

export interface ImportJob {
  runId: string;
  connectorId: string;
}

const globalForBoss = globalThis as unknown as { boss?: Promise<PgBoss> };

async function startBoss(): Promise<PgBoss> {
  const boss = new PgBoss({ connectionString: required("DATABASE_URL"), schema: "pgboss", application_name: "symphony-connector" });
  boss.on("error", (error) => console.error("pg-boss:", error.message));
  await boss.start();
  await boss.createQueue(IMPORT_QUEUE);
  await boss.createQueue(SCHEDULER_QUEUE);
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
