import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from "./postgres";

const started: Array<{ dir: string; handle: EmbeddedPostgresHandle }> = [];

async function serverAddress(url: string): Promise<string | null> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ addr: string | null }>("SELECT host(inet_server_addr()) AS addr");
    return rows[0]!.addr;
  } finally {
    await client.end();
  }
}

async function start(prefix: string) {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  chmodSync(dir, 0o755); // PostgreSQL runs as its own user when the tests run as root
  const handle = await startEmbeddedPostgres({ dir });
  started.push({ dir, handle });
  return handle;
}

afterAll(async () => {
  for (const { dir, handle } of started) {
    await handle.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

describe("embedded PostgreSQL", () => {
  it("is reached through its Unix socket, and over TCP on 127.0.0.1 where the socket's path would be too long", async () => {
    const short = await start("pg-");
    expect(new URL(short.url).searchParams.get("host")).toMatch(/^\//);
    expect(await serverAddress(short.url)).toBeNull(); // no server address: a Unix socket

    const long = await start(`pg-${"x".repeat(90)}-`);
    expect(new URL(long.url).searchParams.get("host")).toBeNull();
    expect(await serverAddress(long.url)).toBe("127.0.0.1");
  }, 120_000);
});
