import { mkdtempSync, rmSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "@/lib/generated/prisma/client";
import { freePort } from "@/sandbox/ports";
import { isDatabaseUnavailable } from "./database-errors";

/** The error a real pg client gives for `config`, or for its query when the connection is made. */
async function clientError(config: pg.ClientConfig, sql = "SELECT 1"): Promise<unknown> {
  const client = new pg.Client({ connectionTimeoutMillis: 5000, ...config });
  client.on("error", () => {}); // a terminated session also emits the error it rejects with
  try {
    await client.connect();
    await client.query(sql);
    return undefined;
  } catch (error) {
    return error;
  } finally {
    await client.end().catch(() => {});
  }
}

describe("isDatabaseUnavailable", () => {
  const socketDir = mkdtempSync(path.join(tmpdir(), "no-postgres-"));
  afterAll(() => rmSync(socketDir, { recursive: true, force: true }));

  it("recognises a stopped server's missing Unix socket (a restart of the embedded PostgreSQL)", async () => {
    const error = await clientError({ host: socketDir, port: 5432 });
    expect(error).toMatchObject({ code: "ENOENT", syscall: "connect" });
    expect(isDatabaseUnavailable(error)).toBe(true);
  });

  it("recognises a refused TCP connection", async () => {
    const error = await clientError({ host: "127.0.0.1", port: await freePort() });
    expect(error).toMatchObject({ code: "ECONNREFUSED" });
    expect(isDatabaseUnavailable(error)).toBe(true);
  });

  it("recognises a database host name that does not resolve (a container restarting)", async () => {
    const error = await clientError({ host: "postgres.invalid", port: 5432 });
    expect((error as { code?: string }).code).toMatch(/^(ENOTFOUND|EAI_AGAIN)$/);
    expect(isDatabaseUnavailable(error)).toBe(true);
  });

  it("recognises Prisma's own error for a server it cannot reach (P1001, with no cause)", async () => {
    const port = await freePort();
    const client = new PrismaClient({
      adapter: new PrismaPg({
        connectionString: `postgresql://archive:x@127.0.0.1:${port}/db`,
        connectionTimeoutMillis: 5000,
      }),
    });
    try {
      const error = await client.connector.count().catch((reason: unknown) => reason);
      expect(error).toMatchObject({ name: "PrismaClientKnownRequestError", code: "P1001" });
      expect(isDatabaseUnavailable(error)).toBe(true);
    } finally {
      await client.$disconnect();
    }
  });

  it("recognises the same error wrapped as another's cause", async () => {
    const error = await clientError({ host: socketDir, port: 5432 });
    expect(isDatabaseUnavailable(new Error("job not completed", { cause: error }))).toBe(true);
  });

  it.skipIf(!process.env.DATABASE_URL)("recognises a session the server ended (administrator command)", async () => {
    const error = await clientError(
      { connectionString: process.env.DATABASE_URL },
      "SELECT pg_terminate_backend(pg_backend_pid())",
    );
    expect(error).toMatchObject({ code: "57P01" });
    expect(isDatabaseUnavailable(error)).toBe(true);
  });

  it.skipIf(!process.env.DATABASE_URL)("does not excuse a statement the database refused", async () => {
    const error = await clientError({ connectionString: process.env.DATABASE_URL }, "SELECT * FROM no_such_table");
    expect(error).toMatchObject({ code: "42P01" });
    expect(isDatabaseUnavailable(error)).toBe(false);
  });

  it("does not excuse a missing file that is not a socket", async () => {
    const error = await readFile(path.join(socketDir, "absent.json")).catch((reason: unknown) => reason);
    expect(error).toMatchObject({ code: "ENOENT", syscall: "open" });
    expect(isDatabaseUnavailable(error)).toBe(false);
    expect(isDatabaseUnavailable(new Error("boom"))).toBe(false);
  });
});
