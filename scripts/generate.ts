// Generates the Prisma client into lib/generated/prisma.
// `prisma generate` insists on locating a schema-engine binary even though generation does not use it,
// and cannot download one offline: pointing PRISMA_SCHEMA_ENGINE_BINARY at any existing file satisfies it.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "..");
const env: NodeJS.ProcessEnv = { ...process.env, PRISMA_HIDE_UPDATE_MESSAGE: "1", CHECKPOINT_DISABLE: "1" };
if (!env.PRISMA_SCHEMA_ENGINE_BINARY || !existsSync(env.PRISMA_SCHEMA_ENGINE_BINARY)) {
  env.PRISMA_SCHEMA_ENGINE_BINARY = process.execPath;
}
execFileSync(path.join(root, "node_modules/.bin/prisma"), ["generate"], { cwd: root, env, stdio: "inherit" });
