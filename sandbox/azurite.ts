// Azurite's Blob service in a child process, used when no Azure Storage account is configured.
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

// Azurite's fixed development account (public, documented by Microsoft; not a secret).
const ACCOUNT = "devstoreaccount1";
const ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

export interface AzuriteHandle {
  connectionString: string;
  port: number;
  stop(): Promise<void>;
}

export async function startAzurite(options: {
  dir: string;
  /** Blob port; default an ephemeral one (pass the old port to restart Azurite where clients expect it). */
  port?: number;
  log?: (line: string) => void;
}): Promise<AzuriteHandle> {
  const dir = path.resolve(options.dir);
  mkdirSync(dir, { recursive: true });
  const main = createRequire(import.meta.url).resolve("azurite/dist/src/blob/main.js");
  const child = spawn(
    process.execPath,
    [
      main,
      "--blobHost",
      "127.0.0.1",
      "--blobPort",
      String(options.port ?? 0),
      "--location",
      dir,
      "--silent",
      "--loose",
      "--skipApiVersionCheck",
      "--disableTelemetry",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  const log = options.log ?? (() => {});
  child.stderr.on("data", (chunk: Buffer) => log(chunk.toString().trimEnd()));

  const port = await new Promise<number>((resolve, reject) => {
    let output = "";
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listens on https?:\/\/[^:]+:(\d+)/.exec(output);
      if (match) {
        child.stdout.off("data", onData);
        child.stdout.on("data", (more: Buffer) => log(more.toString().trimEnd()));
        resolve(Number(match[1]));
      }
    };
    child.stdout.on("data", onData);
    child.once("exit", (code) =>
      reject(new Error(`Azurite exited with code ${code} before listening: ${output.trim()}`)),
    );
  });

  return {
    port,
    connectionString:
      `DefaultEndpointsProtocol=http;AccountName=${ACCOUNT};AccountKey=${ACCOUNT_KEY};` +
      `BlobEndpoint=http://127.0.0.1:${port}/${ACCOUNT};`,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
        setTimeout(() => child.kill("SIGKILL"), 5_000).unref();
      }),
  };
}
