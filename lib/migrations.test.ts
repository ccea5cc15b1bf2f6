import { cpSync, mkdtempSync, mkdirSync, writeFileSync, appendFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { migrate, readMigrations } from "./migrations";
import { createDatabase } from "./testing/databases";

const projectMigrations = path.resolve(import.meta.dirname, "../prisma/migrations");
const databases: { drop(): Promise<void> }[] = [];

async function freshDatabase() {
  const database = await createDatabase("migrate");
  databases.push(database);
  return database.url;
}

function copyOfMigrations(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "migrations-"));
  cpSync(projectMigrations, dir, { recursive: true });
  return dir;
}

type AppliedRow = { migration_name: string; checksum: string; finished_at: Date | null; applied_steps_count: number };

async function appliedRows(url: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<AppliedRow>(
      `SELECT migration_name, checksum, finished_at, applied_steps_count FROM "_prisma_migrations" ORDER BY started_at`,
    );
    return rows;
  } finally {
    await client.end();
  }
}

afterEach(async () => {
  await Promise.all(databases.splice(0).map((d) => d.drop()));
});

describe("migrate", () => {
  it("applies every migration once and records it as Prisma does", async () => {
    const url = await freshDatabase();
    const first = await migrate({ databaseUrl: url, dir: projectMigrations });
    expect(first.applied).toEqual(readMigrations(projectMigrations).map((m) => m.name));

    const rows = await appliedRows(url);
    expect(rows.map((r) => r.migration_name)).toEqual(first.applied);
    expect(rows.every((r) => r.finished_at instanceof Date && r.applied_steps_count === 1)).toBe(true);
    expect(rows).not.toHaveLength(0);
    expect(rows[0]?.checksum).toBe(readMigrations(projectMigrations)[0]?.checksum);

    expect((await migrate({ databaseUrl: url, dir: projectMigrations })).applied).toEqual([]);
  });

  it("lets two processes migrate at once without applying anything twice", async () => {
    const url = await freshDatabase();
    const results = await Promise.all([
      migrate({ databaseUrl: url, dir: projectMigrations }),
      migrate({ databaseUrl: url, dir: projectMigrations }),
    ]);
    expect(results.flatMap((r) => r.applied).sort()).toEqual(readMigrations(projectMigrations).map((m) => m.name));
    expect(await appliedRows(url)).toHaveLength(readMigrations(projectMigrations).length);
  });

  it("refuses to run when an applied migration's file has changed", async () => {
    const url = await freshDatabase();
    const dir = copyOfMigrations();
    await migrate({ databaseUrl: url, dir });
    const [first] = readMigrations(dir);
    if (!first) throw new Error("There is no migration to edit.");
    appendFileSync(path.join(dir, first.name, "migration.sql"), "\n-- edited\n");
    await expect(migrate({ databaseUrl: url, dir })).rejects.toThrow(
      `Migration ${first.name} was changed after it was applied`,
    );
  });

  it("rolls back a failing migration whole and names it", async () => {
    const url = await freshDatabase();
    const dir = copyOfMigrations();
    const broken = path.join(dir, "29991231000000_broken");
    mkdirSync(broken);
    writeFileSync(
      path.join(broken, "migration.sql"),
      `CREATE TABLE "Half" ("id" INTEGER);\nSELECT * FROM "NoSuchTable";`,
    );

    await expect(migrate({ databaseUrl: url, dir })).rejects.toThrow(
      /29991231000000_broken failed and was rolled back/,
    );
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const half = await client.query<{ t: string | null }>(`SELECT to_regclass('"Half"') AS t`);
    await client.end();
    expect(half.rows[0]?.t).toBeNull();
    expect((await appliedRows(url)).map((r) => r.migration_name)).not.toContain("29991231000000_broken");
  });
});
