// `npm run db:migrate`: applies pending migrations to DATABASE_URL.
import path from "node:path";
import { required } from "@/lib/config";
import { upgradeStoredKeys } from "@/lib/connectors";
import { db } from "@/lib/db";
import { migrate } from "@/lib/migrations";

const { applied } = await migrate({
  databaseUrl: required("DATABASE_URL"),
  dir: path.resolve(import.meta.dirname, "../prisma/migrations"),
  log: console.log,
});
console.log(applied.length ? `Applied ${applied.length} migration(s).` : "Database is up to date.");
const upgraded = await upgradeStoredKeys();
if (upgraded) console.log(`Upgraded ${upgraded} stored bot key(s) to the current format.`);
await db.$disconnect();
