import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { WORKER_HEAP_MB } from "@/scripts/worker-build";

const root = path.resolve(import.meta.dirname, "../..");

/**
 * Runs a check script of the project (a path from its root) in a child process whose heap is capped
 * as `npm start` caps the worker's, and answers the JSON of the last line it printed. A script that
 * runs out of memory rejects.
 */
export async function underWorkerHeap(script: string, args: string[] = []): Promise<unknown> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [`--max-old-space-size=${WORKER_HEAP_MB}`, "--import", "tsx", path.join(root, script), ...args],
    { cwd: root, maxBuffer: 1024 * 1024, timeout: 120_000 },
  );
  return JSON.parse(stdout.trim().split("\n").at(-1) ?? "") as unknown;
}
