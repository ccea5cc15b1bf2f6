// The worker as `npm start` runs it: scripts/worker.ts and its conversion thread compiled by esbuild
// into build/worker (under a second, so it is done at every start). A compiled worker loads plain
// JavaScript: no TypeScript loader in the process and in each conversion thread, which saves memory
// (scripts/bench --kill 0 measures it). Packages stay in node_modules; only the project's own code
// is bundled, so the bundle must live inside the project to resolve them.
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { build, type Plugin } from "esbuild";

/**
 * A package's file imported by its path (`nodemailer/lib/mime-funcs`) from a package without an
 * exports map: Node's ESM loader does not resolve such a path (no extension, or a folder), so it is
 * resolved here, as require would, and left external by its full path.
 */
function deepImportsByPath(root: string): Plugin {
  const require = createRequire(path.join(root, "package.json"));
  return {
    name: "deep-imports-by-path",
    setup(build) {
      build.onResolve({ filter: /^(@[^/:]+\/)?[^./@:][^/:]*\/.+/ }, ({ path: specifier, kind }) => {
        if (kind !== "import-statement" && kind !== "dynamic-import") return undefined;
        const name = specifier.split("/", specifier.startsWith("@") ? 2 : 1).join("/");
        const manifest = (require.resolve.paths(name) ?? [])
          .map((dir) => path.join(dir, name, "package.json"))
          .find((file) => existsSync(file));
        // A package with an exports map says itself what its paths are: Node resolves them.
        if (!manifest || (JSON.parse(readFileSync(manifest, "utf8")) as { exports?: unknown }).exports)
          return undefined;
        return { path: require.resolve(specifier), external: true };
      });
    },
  };
}

/** The worker's V8 heap cap: its live heap stays near 80-110 MB under load; without a cap V8 lets it grow. */
export const WORKER_HEAP_MB = 192;

/** How much the worker's old generation grows before it is marked again, in % of its live size (see workerLaunch). */
export const WORKER_HEAP_GROWING_PERCENT = 50;

/** glibc's malloc settings for the worker (see workerLaunch). */
export const WORKER_MALLOC_TUNABLES = "glibc.malloc.arena_max=1:glibc.malloc.mmap_threshold=131072";

/**
 * How the compiled worker is started, wherever it is (npm start, npm run worker, the tests and the
 * bench): Node's arguments and the environment, chosen together so that no caller takes one without
 * the other.
 *
 * Arguments: its heap capped and its young generation's semi-spaces at 8 MB (V8's default 16), which
 * with the malloc settings below keep its memory flat near 260-300 MB under load (`npm run bench --
 * --kill 0`); garbage collected on the thread that runs the JavaScript, and less often. `nodeArgs` go
 * before them (tsx for the tests that run the sources, a profiler for the bench).
 *
 * Without `--enable-source-maps`: with it, Node keeps the source map of every module that has one
 * (ours and the libraries'), 8 MB of heap and 13 MB of RSS from the start (35 against 27 MB of heap,
 * 127 against 114 MB of RSS once the modules are loaded), and decodes a map's mappings when a stack
 * trace is first written (6 MB more for the worker's own). Its stack traces point into
 * build/worker/worker.mjs, not minified; `NODE_OPTIONS=--enable-source-maps` turns the TypeScript
 * locations back on (the build keeps its linked source maps).
 *
 * Collection takes about a third of the worker's CPU under load, most of it marking the old
 * generation, which V8 spreads over helper threads. The import is work for throughput, not for pause
 * times, and those threads compete with the main thread, PostgreSQL and the rest for the same cores:
 * with them the worker spent 1.02 and 1.23 ms of CPU per item, without them 0.93 and 0.97 ms (the
 * same hour, back to back, 20,000 messages), and its collection went from 31 % to 26 % of its CPU.
 *
 * The old generation grows by half its live size before it is marked again. Under a 192 MB cap V8
 * lets it grow by about a fifth: about 60 MB stay live (most of it the program), so it marked all of
 * it every 0.45 s to free 12 MB of work that had outlived two young collections, two thirds of the
 * worker's collection time. Growing by half marks it half as often: 0.64-0.70 ms of CPU per item
 * against 0.76-0.78 ms (20,000 messages, back to back), for 20-25 MB more RSS at the peak (Buffers
 * freed with the objects that hold them, so later). By 100 % it saved little more and cost 35 MB.
 *
 * Environment: `env` with glibc's malloc tunables, unless it sets its own. One arena for every thread
 * (by default each thread that allocates natively, such as libuv's pool and the conversion thread,
 * may keep an arena of its own, up to eight per core, and rarely gives it back), and blocks of 128 KB
 * and more (Buffers of staged bundles and converted messages) mapped and unmapped on their own
 * instead of carved from a heap that glibc's dynamic threshold lets grow and fragment. Peak RSS at
 * 20,000 messages went from 406-429 MB to 310 MB at the same throughput. Other C libraries ignore it.
 */
export function workerLaunch(
  entry: string,
  env: NodeJS.ProcessEnv,
  { nodeArgs = [] }: { nodeArgs?: string[] } = {},
): { args: string[]; env: NodeJS.ProcessEnv } {
  return {
    args: [
      ...nodeArgs,
      `--max-old-space-size=${WORKER_HEAP_MB}`,
      "--max-semi-space-size=8",
      "--single-threaded-gc",
      `--heap-growing-percent=${WORKER_HEAP_GROWING_PERCENT}`,
      entry,
    ],
    env: { GLIBC_TUNABLES: WORKER_MALLOC_TUNABLES, ...env },
  };
}

export async function buildWorker(root: string): Promise<string> {
  const outdir = path.join(root, "build/worker");
  const { metafile } = await build({
    metafile: true,
    absWorkingDir: root,
    // lib/convert/pool.ts and lib/content-export/export-reader.ts start their threads from an `.mjs`
    // beside their own module (lib/threads.ts): here the compiled thread entries, beside worker.mjs
    // and the chunks they share.
    entryPoints: {
      worker: "scripts/worker.ts",
      "conversion-worker": "lib/convert/conversion-worker.ts",
      "export-reader-thread": "lib/content-export/export-reader-thread.ts",
    },
    outdir,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    splitting: true,
    packages: "external",
    platform: "node",
    format: "esm",
    target: "node20",
    sourcemap: "linked",
    logLevel: "warning",
    plugins: [deepImportsByPath(root)],
  });
  // Chunks of earlier builds have other names: removed once the new files are all written (a worker
  // started from them meanwhile finds each file it loads).
  const written = new Set(Object.keys(metafile.outputs).map((file) => path.resolve(root, file)));
  for (const name of readdirSync(outdir)) {
    if (!written.has(path.join(outdir, name))) rmSync(path.join(outdir, name), { force: true });
  }
  return path.join(outdir, "worker.mjs");
}
