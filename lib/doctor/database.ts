// PostgreSQL: reachable with the configured URL, and every migration of this version applied.
import pg from "pg";
import { readMigrations } from "@/lib/migrations";
import { guarded, skipped } from "./guard";
import type { CheckResult, Outcome } from "./types";

export type DatabaseSettings = {
  /** DATABASE_URL */
  url: string | undefined;
  /** prisma/migrations of this version. */
  migrationsDir: string;
};

const CONNECT_TIMEOUT_MS = 5_000;
const REACHABLE = { id: "database", title: "Database (PostgreSQL)" };
const MIGRATED = { id: "database.migrations", title: "Database migrations" };

/** Where the URL points, without its password. */
function describe(url: string): { where: string; user: string; database: string } {
  try {
    const parsed = new URL(url);
    const port = parsed.port || "5432";
    // A `host` parameter naming a directory is the Unix socket the client uses instead of the URL's host.
    const socketDir = parsed.searchParams.get("host");
    return {
      where: socketDir?.startsWith("/")
        ? `the Unix socket in ${socketDir} (port ${port})`
        : `${parsed.hostname}:${port}`,
      user: decodeURIComponent(parsed.username) || "(none)",
      database: decodeURIComponent(parsed.pathname.slice(1)) || "(default)",
    };
  } catch {
    return { where: "(unreadable URL)", user: "(unknown)", database: "(unknown)" };
  }
}

/** Connects with a fresh client (not the app's pool), so a wrong URL is seen as it is configured. */
async function withClient<T>(url: string, query: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    query_timeout: CONNECT_TIMEOUT_MS,
  });
  // A server that drops the connection later must not crash the process through an unhandled 'error'.
  client.on("error", () => undefined);
  try {
    await client.connect();
    return await query(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Whether PostgreSQL answers at DATABASE_URL; `checkMigrations` adds whether this version's migrations are applied. */
export async function databaseChecks(
  settings: DatabaseSettings,
  options: { checkMigrations: boolean },
): Promise<CheckResult[]> {
  const { url } = settings;
  if (!url) {
    const missing: CheckResult = {
      ...REACHABLE,
      status: "fail",
      detail: "DATABASE_URL is not set.",
      fix:
        "Set DATABASE_URL to the PostgreSQL connection URL (postgresql://…). On embedded defaults npm start sets it: " +
        "start it first, and npm run doctor uses its settings.",
    };
    return options.checkMigrations
      ? [missing, skipped(MIGRATED.id, MIGRATED.title, "No database to look at.")]
      : [missing];
  }
  const reachable = await guarded(REACHABLE.id, REACHABLE.title, () => reach(url));
  if (!options.checkMigrations) return [reachable];
  const migrated =
    reachable.status === "fail"
      ? skipped(MIGRATED.id, MIGRATED.title, "The database could not be reached.")
      : await guarded(MIGRATED.id, MIGRATED.title, () => migrations(url, settings.migrationsDir));
  return [reachable, migrated];
}

async function reach(url: string): Promise<Outcome> {
  const { where, user, database } = describe(url);
  try {
    const version = await withClient(url, async (client) => {
      const { rows } = await client.query<{ version: string }>("SELECT current_setting('server_version') AS version");
      return rows[0]?.version ?? "unknown";
    });
    return { status: "ok", detail: `PostgreSQL ${version} at ${where} answered, database ${database}, user ${user}.` };
  } catch (error) {
    return { status: "fail", ...explain(error, { where, user, database }) };
  }
}

function explain(error: unknown, at: { where: string; user: string; database: string }): Omit<Outcome, "status"> {
  const code = (error as { code?: string }).code ?? "";
  const message = error instanceof Error ? error.message : "";
  const checkUrl = "Check DATABASE_URL (on embedded defaults: that npm start is running).";
  switch (code) {
    case "ECONNREFUSED":
      return {
        detail: `Nothing accepts connections at ${at.where}.`,
        fix: `Start PostgreSQL or correct the host and port. ${checkUrl}`,
      };
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return { detail: `The host name in DATABASE_URL (${at.where}) is not found.`, fix: checkUrl };
    case "28P01":
    case "28000":
      return {
        detail: `PostgreSQL at ${at.where} refused the user name or password of user ${at.user}.`,
        fix: "Check the user and password in DATABASE_URL, and that pg_hba.conf lets this server in.",
      };
    case "3D000":
      return {
        detail: `PostgreSQL at ${at.where} has no database ${at.database}.`,
        fix: "Create the database (CREATE DATABASE) or correct its name in DATABASE_URL, then run npm run db:migrate.",
      };
    default:
      return /timeout/i.test(message)
        ? {
            detail: `PostgreSQL at ${at.where} did not answer within ${CONNECT_TIMEOUT_MS / 1000} seconds.`,
            fix: `Check the host, the port and the firewall. ${checkUrl}`,
          }
        : { detail: `PostgreSQL at ${at.where} could not be used${code ? ` (error ${code})` : ""}.`, fix: checkUrl };
  }
}

type AppliedRow = { migration_name: string; checksum: string; finished_at: Date | null };

async function migrations(url: string, dir: string): Promise<Outcome> {
  const files = readMigrations(dir);
  const rows = await withClient(url, async (client) => {
    const exists = await client.query<{ found: string | null }>(`SELECT to_regclass('"_prisma_migrations"') AS found`);
    if (!exists.rows[0]?.found) return [];
    const result = await client.query<AppliedRow>(
      `SELECT migration_name, checksum, finished_at FROM "_prisma_migrations" WHERE rolled_back_at IS NULL`,
    );
    return result.rows;
  });
  const fix = "Run npm run db:migrate with this version (npm start applies migrations when it starts).";
  const applied = new Map(rows.map((row) => [row.migration_name, row]));
  const unfinished = rows.filter((row) => row.finished_at === null).map((row) => row.migration_name);
  if (unfinished.length > 0) {
    return {
      status: "fail",
      detail: `Migration ${unfinished.join(", ")} started but did not finish.`,
      fix: "Look at the migration's error in the database log, repair it, then mark it resolved (prisma migrate resolve).",
    };
  }
  const changed = files.filter((file) => applied.has(file.name) && applied.get(file.name)!.checksum !== file.checksum);
  if (changed.length > 0) {
    return {
      status: "fail",
      detail: `Migration ${changed.map((file) => file.name).join(", ")} differs from the one applied to this database.`,
      fix: "Run the version of the connector that migrated this database, or restore the original migration file.",
    };
  }
  const pending = files.filter((file) => !applied.has(file.name)).map((file) => file.name);
  if (pending.length > 0) {
    return {
      status: "fail",
      detail:
        rows.length === 0
          ? `No migration is applied: the database is empty (this version has ${files.length}).`
          : `${pending.length} of ${files.length} migrations are not applied: ${pending.join(", ")}.`,
      fix,
    };
  }
  const known = new Set(files.map((file) => file.name));
  const unknown = rows.map((row) => row.migration_name).filter((name) => !known.has(name));
  if (unknown.length > 0) {
    return {
      status: "warn",
      detail: `All ${files.length} migrations of this version are applied, and also ${unknown.join(", ")}, which this version does not know: a newer version migrated this database.`,
      fix: "Run the newest version of the connector against this database.",
    };
  }
  return {
    status: "ok",
    detail: `All ${files.length} migrations are applied (latest ${files.at(-1)?.name ?? "none"}).`,
  };
}
