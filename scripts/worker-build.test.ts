import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { WORKER_HEAP_GROWING_PERCENT, WORKER_HEAP_MB, WORKER_MALLOC_TUNABLES, workerLaunch } from "./worker-build";

const envOf = (env: NodeJS.ProcessEnv) => workerLaunch("worker.mjs", env).env;

// glibc's dynamic loader lists the tunables it parsed from GLIBC_TUNABLES; a misspelled one is
// silently ignored at run time, so this is the only place a typo shows.
const loader = "/lib64/ld-linux-x86-64.so.2";

describe("the worker's malloc settings", () => {
  it.skipIf(!existsSync(loader))("are tunables this machine's glibc applies", () => {
    const listed = execFileSync(loader, ["--list-tunables"], {
      env: envOf({ NODE_ENV: "test", PATH: process.env.PATH }),
      encoding: "utf8",
    });
    expect(listed).toMatch(/^glibc\.malloc\.arena_max: 0x1 /m);
    expect(listed).toMatch(/^glibc\.malloc\.mmap_threshold: 0x20000 /m);
  });

  it("leave an operator's own GLIBC_TUNABLES alone", () => {
    expect(envOf({ NODE_ENV: "test", GLIBC_TUNABLES: "glibc.malloc.arena_max=4" }).GLIBC_TUNABLES).toBe(
      "glibc.malloc.arena_max=4",
    );
    expect(envOf({ NODE_ENV: "test" }).GLIBC_TUNABLES).toBe(WORKER_MALLOC_TUNABLES);
  });
});

describe("the worker's arguments", () => {
  it("cap its heap, collect garbage on its own thread, less often, and put the entry last, after the caller's own Node arguments", () => {
    const { args } = workerLaunch("scripts/worker.ts", { NODE_ENV: "test" }, { nodeArgs: ["--import", "tsx"] });
    expect(args.slice(0, 2)).toEqual(["--import", "tsx"]);
    expect(args).toContain(`--max-old-space-size=${WORKER_HEAP_MB}`);
    expect(args).toContain("--single-threaded-gc");
    expect(args).toContain(`--heap-growing-percent=${WORKER_HEAP_GROWING_PERCENT}`);
    expect(args.at(-1)).toBe("scripts/worker.ts");
  });
});
