// Test support: a PostgreSQL and an Azurite of one test file's own, for tests that restart them or
// run workers (the queue in the shared database is polled by every file's workers, and a worker
// imports with its own harness's sandboxes only). Call before the first database use in the process.
import { rmSync } from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { db } from "@/lib/db";
import { migrate } from "@/lib/migrations";
import { startAzurite, type AzuriteHandle } from "@/sandbox/azurite";
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from "@/sandbox/postgres";

const root = path.resolve(import.meta.dirname, "../..");

export type PrivateServers = {
  /** Stops PostgreSQL, waits `downMs` (default 1 s) and starts it again. */
  restartPostgres(downMs?: number): Promise<void>;
  restartAzurite(): Promise<void>;
  stop(): Promise<void>;
};

export async function startPrivateServers(name: string): Promise<PrivateServers> {
  const dir = path.join(root, ".data/test", `${name}-${process.pid}`);
  const start = {
    postgres: (port?: number) => startEmbeddedPostgres({ dir: path.join(dir, "postgres"), database: name, port }),
    azurite: (port?: number) => startAzurite({ dir: path.join(dir, "azurite"), port }),
  };
  let postgres: EmbeddedPostgresHandle = await start.postgres();
  await migrate({ databaseUrl: postgres.url, dir: path.join(root, "prisma/migrations") });
  let azurite: AzuriteHandle = await start.azurite();
  process.env.DATABASE_URL = postgres.url;
  process.env.AZURE_STORAGE_CONNECTION_STRING = azurite.connectionString;
  const [setting] = await db.$queryRaw<Array<{ port: string }>>`SELECT current_setting('port') AS port`;
  if (Number(setting?.port) !== postgres.port)
    throw new Error("the database client was created before the private PostgreSQL started");

  return {
    // Both come back on the same port, where the clients (and the worker processes) expect them.
    async restartPostgres(downMs = 1000) {
      await postgres.stop();
      await sleep(downMs);
      postgres = await start.postgres(postgres.port);
    },
    async restartAzurite() {
      await azurite.stop();
      await sleep(1000);
      azurite = await start.azurite(azurite.port);
    },
    async stop() {
      await db.$disconnect();
      await azurite.stop();
      await postgres.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
