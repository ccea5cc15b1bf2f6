import type { Worker } from "node:worker_threads";

export type ThreadOptions = NonNullable<ConstructorParameters<typeof Worker>[1]>;

/**
 * Starts the thread whose entry is `entryFile`, beside the module whose `import.meta.url` is
 * `moduleUrl`: the `.mjs` shim beside the TypeScript source (which loads it through tsx), or the
 * compiled entry beside the worker's chunks (scripts/worker-build.ts builds each under the same name).
 *
 * The web app's bundler follows `new Worker(new URL(…, import.meta.url))` and would try to bundle
 * the entry (the app imports the modules that start threads but never starts one): the constructor
 * and the entry's URL are therefore worked out at run time.
 *
 * A `--max-semi-space-size` given to the process (npm start gives the worker one) applies to every
 * isolate created later and overrides their `resourceLimits`. V8 reads it only when it creates an
 * isolate, so clearing it leaves the main thread's young generation as it started and lets the
 * thread's own limit apply.
 */
export function startThread(moduleUrl: string, entryFile: string, options: ThreadOptions): Worker {
  process.getBuiltinModule("node:v8").setFlagsFromString("--max-semi-space-size=0");
  const { Worker: WorkerThread } = process.getBuiltinModule("node:worker_threads");
  return new WorkerThread(new URL(String(moduleUrl).replace(/[^/]*$/, entryFile)), options);
}
