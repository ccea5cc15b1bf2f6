// The benchmark's side of scripts/bench/sandbox-child.ts: starts the child and calls it over IPC.
import { fork, type ChildProcess } from "node:child_process";
import path from "node:path";

export type SandboxPairOptions = {
  seed: string;
  users: number;
  externalUsers?: number;
  messages: number;
  streams?: number;
  /** Every ninth message carries a small file (default true; see --no-attachments). */
  attachments?: boolean;
  /** Only the first N of our people get a mailbox (default all). */
  mailboxes?: number;
  caDir: string;
  limits?: Record<string, number>;
  /** The Symphony sandbox also produces Content Export files (PGP-encrypted zips) and serves the Files API. */
  contentExport?: { format?: "ACTIANCE" | "EML" };
};

/** What a Content Export connector needs beyond the REST one (the Files API is on the pod URL), and the files' size. */
export type SandboxContentExport = {
  pgp: { privateKeyArmored: string; passphrase: string; keyId: string };
  files: number;
  bytes: number;
  /** (message, mailbox) pairs the files must produce: one item each. */
  expectedItems: number;
};

export type SandboxPair = {
  id: number;
  symphony: {
    podUrl: string;
    agentUrl: string;
    keyManagerUrl: string;
    bot: { username: string; privateKeyPem: string };
    contentExport?: SandboxContentExport;
  };
  m365: { tenantId: string; url: string; graphBaseUrl: string; clientId: string; clientSecret: string };
  org: { streams: number; messages: number; people: number; mailboxes: number };
};

export type M365Stats = {
  /** HTTP requests (a $batch once). */
  httpRequests: number;
  /** Graph requests (each sub-request of a $batch). */
  graphRequests: number;
  throttled: { concurrency: number; requests: number; upload: number };
  serviceUnavailable: number;
  tokensIssued: number;
};

export type SandboxCommand =
  | { cmd: "start"; options: SandboxPairOptions }
  | { cmd: "stats"; id: number }
  | { cmd: "setLimits"; id: number; limits: Record<string, number> }
  | { cmd: "rss" }
  | { cmd: "delivery"; id: number }
  | { cmd: "close"; id: number };

/** What the mailboxes hold, by SymphonyItemKey, and the messages the bot can read (for the kill run's report). */
export type SandboxDelivery = {
  /** Mailboxes holding each key (each mailbox counted once). */
  mailboxesByKey: Record<string, number>;
  /** (mailbox, key) pairs held more than once. */
  duplicated: string[];
  /** Messages of the streams the bot is in that the agent can decrypt. */
  readableMessages: number;
  /** What each mailbox took of Outlook's limits per app and mailbox: requests (refused ones too), bytes admitted. */
  mailboxUsage: MailboxUsage[];
};

export type MailboxUsage = { address: string; requests: number; uploadBytes: number };

export type SandboxHost = {
  pid: number;
  start(options: SandboxPairOptions): Promise<SandboxPair>;
  stats(id: number): Promise<{ m365: M365Stats; rss: number }>;
  setLimits(id: number, limits: Record<string, number>): Promise<void>;
  rss(): Promise<number>;
  delivery(id: number): Promise<SandboxDelivery>;
  close(id: number): Promise<void>;
  stop(): Promise<void>;
};

export async function startSandboxHost(): Promise<SandboxHost> {
  const child: ChildProcess = fork(path.join(import.meta.dirname, "sandbox-child.ts"), [], {
    // `npm run bench -- --cpu-prof` profiles the sandboxes too (written when the child exits).
    execArgv: [
      "--import",
      "tsx",
      // The M365 sandbox keeps about 800 bytes of every item in memory: 5.2 GB for the 6.5 million items
      // of a 1,000,000-message organisation, more than V8's default limit (about 4 GB here).
      "--max-old-space-size=12288",
      ...(process.env.BENCH_CPU_PROF_DIR ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_CPU_PROF_DIR}`] : []),
    ],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let seq = 0;
  await new Promise<void>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`sandbox child exited with code ${code}`)));
    child.on("message", (message: { ready?: boolean; seq?: number; result?: unknown; error?: string }) => {
      if (message.ready) return resolve();
      const call = waiting.get(message.seq!);
      waiting.delete(message.seq!);
      if (message.error) call?.reject(new Error(`sandbox child: ${message.error}`));
      else call?.resolve(message.result);
    });
  });
  child.on("exit", () => waiting.forEach((call) => call.reject(new Error("sandbox child exited"))));

  const call = <T>(command: SandboxCommand) =>
    new Promise<T>((resolve, reject) => {
      const id = ++seq;
      waiting.set(id, { resolve: resolve as (value: unknown) => void, reject });
      child.send({ seq: id, command });
    });

  return {
    pid: child.pid!,
    start: (options) => call({ cmd: "start", options }),
    stats: (id) => call({ cmd: "stats", id }),
    setLimits: (id, limits) => call({ cmd: "setLimits", id, limits }),
    rss: () => call({ cmd: "rss" }),
    delivery: (id) => call({ cmd: "delivery", id }),
    close: (id) => call({ cmd: "close", id }),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.disconnect();
        // A CPU profile of a long run takes seconds to write as the child exits.
        setTimeout(() => child.kill("SIGKILL"), process.env.BENCH_CPU_PROF_DIR ? 60_000 : 5_000).unref();
      }),
  };
}
