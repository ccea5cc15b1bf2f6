import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { PrismaClient } from "@/lib/generated/prisma/client";
import { required } from "@/lib/config";

const globalForPrisma = globalThis as unknown as { prisma?: PrismaClient; pgPool?: pg.Pool };

function createClient(): PrismaClient {
  return new PrismaClient({ adapter: new PrismaPg({ connectionString: required("DATABASE_URL") }) });
}

/** The one Prisma client of the process (kept across Next.js dev reloads). Connects on first use. */
export const db: PrismaClient = new Proxy({} as PrismaClient, {
  get(_, property) {
    globalForPrisma.prisma ??= createClient();
    const value: unknown = Reflect.get(globalForPrisma.prisma, property);
    return typeof value === "function" ? (value.bind(globalForPrisma.prisma) as unknown) : value;
  },
});

/**
 * A few plain pg connections for what Prisma cannot do: reading a large result through a server-side
 * cursor (the status log), with rows as arrays of text. One more use than it holds waits at most
 * `connectionTimeoutMillis` for one to come back, then fails with "timeout exceeded when trying to connect".
 */
export function pgPool(): pg.Pool {
  if (!globalForPrisma.pgPool) {
    globalForPrisma.pgPool = new pg.Pool({
      connectionString: required("DATABASE_URL"),
      max: 8,
      connectionTimeoutMillis: 10_000,
    });
    // An idle connection the server closed (a restart) is dropped by the pool; the next use opens another.
    globalForPrisma.pgPool.on("error", () => {});
  }
  return globalForPrisma.pgPool;
}
