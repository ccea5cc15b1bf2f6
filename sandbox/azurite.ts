// Azurite's Blob service in a child process, used when no Azure Storage account is configured.
import { spawn, type ChildProcessByStdio } from "node:child_process";
import { mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import type { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";

// Azurite's fixed development account (public, documented by Microsoft; not a secret).
const ACCOUNT = "devstoreaccount1";
const ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/**
 * How long after an unexpected stop Azurite is started again: longer each time it stops again within
 * STABLE_MS of starting (or fails to start), back to the first once it has run that long.
 */
const RESTART_DELAYS_MS = [1_000, 5_000, 30_000];
const STABLE_MS = 60_000;

export interface AzuriteHandle {
  connectionString: string;
  port: number;
  /** The running Azurite's process id (a new one after each restart). */
  pid(): number | undefined;
  stop(): Promise<void>;
}

type AzuriteChild = ChildProcessByStdio<null, Readable, Readable>;

export async function startAzurite(options: {
  dir: string;
  /** Blob port; default an ephemeral one (pass the old port to restart Azurite where clients expect it). */
  port?: number;
  log?: (line: string) => void;
  /**
   * Started again on the same port, with the same data, whenever it stops without `stop()` (a crash,
   * the kernel's OOM killer) and `shouldRestart()` says so (false once the supervisor is stopping: a
   * Ctrl-C reaches Azurite too): clients keep their connection string. `onEvent` hears each stop and
   * restart.
   */
  keepRunning?: { shouldRestart: () => boolean; onEvent: (event: string) => void };
}): Promise<AzuriteHandle> {
  const dir = path.resolve(options.dir);
  mkdirSync(dir, { recursive: true });
  const log = options.log ?? (() => {});
  let child = await spawnAzurite(dir, options.port ?? 0, log);
  const port = child.port;
  let stopped = false;
  let startedAt = Date.now();
  let quickStops = 0;
  let restarting: Promise<void> | undefined;
  const restartWanted = () => !stopped && (options.keepRunning?.shouldRestart() ?? false);

  const restart = async (tell: (event: string) => void) => {
    for (;;) {
      await sleep(RESTART_DELAYS_MS[Math.min(quickStops, RESTART_DELAYS_MS.length - 1)]);
      if (!restartWanted()) return;
      try {
        child = await spawnAzurite(dir, port, log);
        startedAt = Date.now();
        watch(child.process);
        return tell(`Azurite is running again on port ${port}`);
      } catch (error) {
        quickStops += 1;
        tell(`Azurite did not start again (${error instanceof Error ? error.message : String(error)}); trying again`);
      }
    }
  };

  const watch = (running: AzuriteChild) =>
    running.once("exit", (code, signal) => {
      if (!options.keepRunning || !restartWanted()) return;
      quickStops = Date.now() - startedAt < STABLE_MS ? quickStops + 1 : 0;
      const tell = options.keepRunning.onEvent;
      tell(`Azurite stopped unexpectedly (${signal ?? `code ${code}`}); starting it again on port ${port}`);
      restarting = restart(tell).finally(() => (restarting = undefined));
    });
  watch(child.process);

  return {
    port,
    connectionString:
      `DefaultEndpointsProtocol=http;AccountName=${ACCOUNT};AccountKey=${ACCOUNT_KEY};` +
      `BlobEndpoint=http://127.0.0.1:${port}/${ACCOUNT};`,
    pid: () => child.process.pid,
    stop: async () => {
      stopped = true;
      await restarting; // a restart under way ends before the child it may have started is stopped
      const running = child.process;
      return new Promise<void>((resolve) => {
        if (running.exitCode !== null || running.signalCode !== null) return resolve();
        running.once("exit", () => resolve());
        running.kill("SIGTERM");
        setTimeout(() => running.kill("SIGKILL"), 5_000).unref();
      });
    },
  };
}

/** One Azurite process, once it listens. */
async function spawnAzurite(
  dir: string,
  port: number,
  log: (line: string) => void,
): Promise<{ process: AzuriteChild; port: number }> {
  const main = createRequire(import.meta.url).resolve("azurite/dist/src/blob/main.js");
  const child = spawn(
    process.execPath,
    [
      main,
      "--blobHost",
      "127.0.0.1",
      "--blobPort",
      String(port),
      "--location",
      dir,
      "--silent",
      "--loose",
      "--skipApiVersionCheck",
      "--disableTelemetry",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  child.stderr.on("data", (chunk: Buffer) => log(chunk.toString().trimEnd()));

  const listening = await new Promise<number>((resolve, reject) => {
    let output = "";
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listens on https?:\/\/[^:]+:(\d+)/.exec(output);
      if (match) {
        child.stdout.off("data", onData);
        child.off("exit", onExit);
        child.stdout.on("data", (more: Buffer) => log(more.toString().trimEnd()));
        resolve(Number(match[1]));
      }
    };
    const onExit = (code: number | null) =>
      reject(new Error(`Azurite exited with code ${code} before listening: ${output.trim()}`));
    child.stdout.on("data", onData);
    child.once("exit", onExit);
  });
  return { process: child, port: listening };
}
