// The real web app (`next start` on the production build) against the benchmark's database, and a
// signed-in admin's session cookie: a next-auth JWT sealed with the app's NEXTAUTH_SECRET, as next-auth
// itself writes it after an Entra sign-in.
import { spawn } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { encode } from "next-auth/jwt";
import { buildNext, needsBuild, nextBin } from "../next-build";

export type WebApp = {
  url: string;
  pid: number;
  /** The `cookie` header of a signed-in admin. */
  cookie: string;
  /** Resident memory of the web process and its children, bytes. */
  rss(): number;
  stop(): Promise<void>;
};

export async function startWebApp(
  root: string,
  {
    databaseUrl,
    storageConnectionString,
    port,
    dataDir,
  }: Record<"databaseUrl" | "storageConnectionString" | "dataDir", string> & { port: number },
  log: (line: string) => void,
): Promise<WebApp> {
  if (needsBuild(root)) {
    log("building the web app (sources changed since the last build)");
    await buildNext(root, process.env);
  }
  const url = `http://127.0.0.1:${port}`;
  const secret = randomBytes(32).toString("hex");
  const env = {
    ...process.env,
    NODE_ENV: "production" as const,
    PORT: String(port),
    APP_URL: url,
    NEXTAUTH_URL: url,
    NEXTAUTH_SECRET: secret,
    DATABASE_URL: databaseUrl,
    AZURE_STORAGE_CONNECTION_STRING: storageConnectionString,
    DATA_DIR: dataDir,
    // Sign-in itself is never used (the session cookie is made here), but the options name an Entra app.
    ENTRA_TENANT_ID: randomUUID(),
    ENTRA_CLIENT_ID: randomUUID(),
    ENTRA_CLIENT_SECRET: "bench-not-used",
    LOG_LEVEL: "warn",
  };
  const child = spawn(process.execPath, [nextBin(root), "start", "-p", String(port), "-H", "127.0.0.1"], {
    cwd: root,
    env,
    stdio: ["ignore", "ignore", "inherit"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  await waitForHealth(`${url}/api/health`, exited);
  const token = await encode({
    secret,
    token: {
      sub: "bench-admin",
      name: "Bench Admin",
      email: "bench@bank.example",
      oid: "bench-admin",
      roles: ["Connector.Admin"],
      signedInAt: Math.floor(Date.now() / 1000),
    },
  });
  return {
    url,
    pid: child.pid!,
    cookie: `next-auth.session-token=${token}`,
    rss: () => treeRss(child.pid!),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}

async function waitForHealth(url: string, exited: Promise<void>) {
  let gone = false;
  void exited.then(() => (gone = true));
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline && !gone) {
    const ok = await fetch(url).then(
      (response) => response.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  throw new Error(gone ? "the web app exited before it was healthy" : "the web app was not healthy within 2 minutes");
}

/** VmRSS of `pid` and every process below it, from /proc (0 elsewhere than Linux). */
function treeRss(pid: number): number {
  if (process.platform !== "linux") return 0;
  const parents = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {}
  }
  const inTree = (at: number): boolean => at === pid || (parents.has(at) && at !== 1 && inTree(parents.get(at)!));
  let total = 0;
  for (const candidate of parents.keys()) {
    if (!inTree(candidate)) continue;
    try {
      const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${candidate}/status`, "utf8"))?.[1];
      total += Number(kb ?? 0) * 1024;
    } catch {}
  }
  return total;
}
