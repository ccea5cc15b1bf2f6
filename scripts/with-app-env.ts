// Runs a command-line script of the product (`npm run import`, `npm run worker`) with the settings of
// the running `npm start`: on embedded defaults the database, blob store and sandboxes exist only
// there, so `npm start` writes them to DATA_DIR/runtime.json (mode 600) and this launcher adds the
// ones the environment does not set, then starts the script in a fresh process (NODE_EXTRA_CA_CERTS
// only takes effect at process start).
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { buildWorker, workerLaunch } from "./worker-build";

const root = path.resolve(import.meta.dirname, "..");
const [script, ...args] = process.argv.slice(2);
if (!script) {
  console.error("Usage: tsx scripts/with-app-env.ts <script.ts> [args...]");
  process.exit(64);
}

if (existsSync(path.join(root, ".env"))) process.loadEnvFile(path.join(root, ".env"));
const env = { ...process.env };
const runtime = path.resolve(root, env.DATA_DIR ?? ".data", "runtime.json");
if (existsSync(runtime)) {
  for (const [name, value] of Object.entries(JSON.parse(readFileSync(runtime, "utf8")) as Record<string, string>)) {
    // The supervisor's CA file already bundles the machine's own extra CAs with the sandbox's.
    if (env[name] === undefined || name === "NODE_EXTRA_CA_CERTS") env[name] = value;
  }
}

// The worker runs compiled, with the heap cap and malloc settings, exactly as npm start runs it
// (scripts/worker-build.ts).
const isWorker = path.resolve(root, script) === path.join(root, "scripts/worker.ts");
const launch = isWorker
  ? workerLaunch(await buildWorker(root), env)
  : { args: ["--import", "tsx", path.resolve(root, script)], env };
const child = spawn(process.execPath, [...launch.args, ...args], { cwd: root, env: launch.env, stdio: "inherit" });
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => child.kill(signal));
child.once("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
