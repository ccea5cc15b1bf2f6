// `npm test`: the whole suite, as CI runs it: typecheck, lint (type-checked rules and the layer rules),
// format check, unit and integration tests (vitest, against real PostgreSQL, Azurite and the sandboxes),
// then end-to-end tests (Playwright in Chromium against `npm start`). Stops at the first failing stage
// and exits non-zero.
import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "..");
const bin = (name: string) => path.join(root, "node_modules/.bin", name);

// Every e2e run starts from an empty product, as a new admin would.
rmSync(path.join(root, ".data/e2e"), { recursive: true, force: true });

const stages: [string, string, string[]][] = [
  // The drift test compares the migrations with the model as generated, so generate it first.
  [
    "prisma generate",
    process.execPath,
    [path.join(root, "node_modules/tsx/dist/cli.mjs"), path.join(root, "scripts/generate.ts")],
  ],
  ["typecheck", bin("tsc"), ["--noEmit", "-p", "."]],
  ["lint", bin("eslint"), ["--max-warnings", "0", "."]],
  ["format check", bin("prettier"), ["--check", "."]],
  ["unit and integration tests", bin("vitest"), ["run"]],
  ["end-to-end tests", bin("playwright"), ["test"]],
];

for (const [name, command, args] of stages) {
  console.log(`\n=== ${name} ===`);
  const result = spawnSync(command, args, { cwd: root, stdio: "inherit", env: process.env });
  if (result.status !== 0) {
    console.error(`\n${name} failed (exit ${result.status ?? result.signal}).`);
    process.exit(result.status || 1);
  }
}
console.log("\nAll test stages passed.");
