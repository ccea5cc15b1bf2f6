import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "@/lib/generated/prisma/client";
import { required } from "@/lib/config";

const globalForPrisma = globalThis as unknown as { prisma?: PrismaClient };

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
