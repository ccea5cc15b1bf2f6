// Applies prisma/migrations/*/migration.sql in order and records them in `_prisma_migrations` the way
// `prisma migrate deploy` does (same table, same sha256 checksums, same advisory lock), so either tool
// can take over from the other. Each migration runs in its own transaction.
import { createHash, randomUUID } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import pg from "pg";

/** The advisory lock key Prisma's migration engine takes; two migrators never run at once. */
const PRISMA_MIGRATE_LOCK = 72707369;

export interface MigrationFile {
  name: string;
  sql: string;
  checksum: string;
}

export class MigrationError extends Error {
  override name = "MigrationError";
}

export function readMigrations(dir: string): MigrationFile[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(path.join(dir, entry.name, "migration.sql")))
    .map((entry) => entry.name)
    .sort()
    .map((name) => {
      const sql = readFileSync(path.join(dir, name, "migration.sql"), "utf8");
      return { name, sql, checksum: createHash("sha256").update(sql).digest("hex") };
    });
}

export async function migrate(options: {
  databaseUrl: string;
  dir: string;
  log?: (line: string) => void;
}): Promise<{ applied: string[] }> {
  const log = options.log ?? (() => {});
  const migrations = readMigrations(options.dir);
  const client = new pg.Client({ connectionString: options.databaseUrl });
  await client.connect();
  try {
    await client.query("SELECT pg_advisory_lock($1)", [PRISMA_MIGRATE_LOCK]);
    await client.query(`
      CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
        "id" VARCHAR(36) PRIMARY KEY NOT NULL,
        "checksum" VARCHAR(64) NOT NULL,
        "finished_at" TIMESTAMPTZ,
        "migration_name" VARCHAR(255) NOT NULL,
        "logs" TEXT,
        "rolled_back_at" TIMESTAMPTZ,
        "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
        "applied_steps_count" INTEGER NOT NULL DEFAULT 0
      )`);
    const { rows } = await client.query<{ migration_name: string; checksum: string; finished_at: Date | null }>(
      `SELECT migration_name, checksum, finished_at FROM "_prisma_migrations" WHERE rolled_back_at IS NULL`,
    );
    checkApplied(rows, migrations);

    const done = new Set(rows.map((row) => row.migration_name));
    const applied: string[] = [];
    for (const migration of migrations.filter((m) => !done.has(m.name))) {
      log(`Applying migration ${migration.name}`);
      try {
        await client.query("BEGIN");
        await client.query(migration.sql);
        await client.query(
          `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, finished_at, applied_steps_count)
           VALUES ($1, $2, $3, now(), now(), 1)`,
          [randomUUID(), migration.checksum, migration.name],
        );
        await client.query("COMMIT");
      } catch (error) {
        await client.query("ROLLBACK");
        throw new MigrationError(`Migration ${migration.name} failed and was rolled back: ${(error as Error).message}`);
      }
      applied.push(migration.name);
    }
    return { applied };
  } finally {
    await client.query("SELECT pg_advisory_unlock($1)", [PRISMA_MIGRATE_LOCK]).catch(() => {});
    await client.end();
  }
}

function checkApplied(
  rows: { migration_name: string; checksum: string; finished_at: Date | null }[],
  migrations: MigrationFile[],
): void {
  const byName = new Map(migrations.map((m) => [m.name, m]));
  for (const row of rows) {
    if (row.finished_at === null) {
      throw new MigrationError(
        `Migration ${row.migration_name} started but did not finish; resolve it (prisma migrate resolve) before migrating`,
      );
    }
    const file = byName.get(row.migration_name);
    if (!file) {
      throw new MigrationError(
        `Migration ${row.migration_name} is applied but its folder is missing from prisma/migrations`,
      );
    }
    if (file.checksum !== row.checksum) {
      throw new MigrationError(
        `Migration ${row.migration_name} was changed after it was applied; add a new migration instead of editing it`,
      );
    }
  }
}
