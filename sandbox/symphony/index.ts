// A local Symphony: pod, agent and key manager as three HTTP servers over a seeded organisation.
import { generateKeyPair } from "node:crypto";
import { promisify } from "node:util";
import { close, listen } from "../http";
import { generateOrg, type Org, type OrgOptions } from "../org";
import { addMessage, adminRoutes, type AddMessageInput } from "./admin";
import { agentRoutes } from "./agent";
import { importBotKey, tokenStore } from "./auth";
import { startContentExport, type ContentExport, type ContentExportOptions } from "./content-export";
import { server, type Context } from "./context";
import { datafeeds } from "./datafeed";
import { emptyStats, faultGate, type Faults, type Stats } from "./faults";
import type { V4Message } from "./messages";
import { keyManagerRoutes, podRoutes } from "./pod";

export type { AddMessageInput } from "./admin";
export type { Faults, Stats } from "./faults";
export type { V4Message } from "./messages";
export type { V4Event } from "./datafeed";
export type { ContentExport, ContentExportOptions, ExportFaults } from "./content-export";
export type { Fault as ExportFault } from "./export-build";
export { FAULTS as EXPORT_FAULTS } from "./export-build";
export type { ExportFileInfo, ExportFormat } from "./export-files";
export type { ExpectedItem } from "./export-items";
export type { PgpKey, PgpKeyPair } from "./pgp";
export { generatePgpKeyPair } from "./pgp";
export type { SftpAccess, SftpCredentials, SftpStats } from "./sftp";
export { generateSftpSecrets } from "./sftp";

export type SymphonySandboxOptions = {
  /** Seed of the organisation (default "demo"). */
  seed?: string | number;
  /** Size and shape of the organisation (see generateOrg); the seed above wins. */
  org?: Omit<OrgOptions, "seed">;
  /** The bot's RSA key pair (PEM, SPKI public / PKCS#8 private); a 2048-bit pair is generated if absent. */
  botKey?: { privateKeyPem: string; publicKeyPem: string };
  /** Whether the bot has the admin role needed by the admin lists (default true; false gives 403). */
  botIsAdmin?: boolean;
  faults?: Partial<Faults>;
  /** How long a datafeed read waits for events (default 30 s). */
  datafeedTimeoutMs?: number;
  host?: string;
  ports?: { pod?: number; agent?: number; keyManager?: number };
  /** Content Export files, the Files API, its storage server and SFTP (off when absent; see README). */
  contentExport?: ContentExportOptions;
};

export type SymphonySandbox = {
  podUrl: string;
  agentUrl: string;
  keyManagerUrl: string;
  bot: { username: string; userId: number; privateKeyPem: string; publicKeyPem: string };
  org: Org;
  addMessage(input: AddMessageInput): V4Message;
  revokeSessions(): void;
  setFaults(change: Partial<Faults>): Faults;
  /** Live request counts of the pod, agent and key manager (admin API excluded). */
  stats: Stats;
  /** Present when started with the contentExport option. */
  contentExport?: ContentExport;
  close(): Promise<void>;
};

/** A fresh 2048-bit RSA key pair for a bot (PEM: PKCS#8 private, SPKI public). */
export async function rsaKeyPair(): Promise<{ privateKeyPem: string; publicKeyPem: string }> {
  const { privateKey, publicKey } = await promisify(generateKeyPair)("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
  });
  return { privateKeyPem: privateKey, publicKeyPem: publicKey };
}

export async function startSymphonySandbox(options: SymphonySandboxOptions = {}): Promise<SymphonySandbox> {
  const org = generateOrg({ ...options.org, seed: options.seed ?? "demo" });
  const botKey = options.botKey ?? (await rsaKeyPair());
  const ctx: Context = {
    org,
    streamsById: new Map(org.streams.map((s) => [s.id, s])),
    added: new Map(),
    tokens: tokenStore(),
    botKey: await importBotKey(botKey.publicKeyPem),
    feeds: datafeeds(options.datafeedTimeoutMs ?? 30_000),
    faults: faultGate(options.faults),
    stats: emptyStats(),
    botIsAdmin: options.botIsAdmin ?? true,
  };
  const host = options.host ?? "127.0.0.1";
  const exporter = options.contentExport
    ? await startContentExport(options.contentExport, { org, sessions: ctx.tokens, stats: ctx.stats, host })
    : undefined;
  const podHandler = server(ctx, [...podRoutes, ...adminRoutes]);
  const pod = await listen(
    async (req, res, url) => {
      // The Files API has its own errors ({"error"}), auth (Bearer) and fault switches.
      if (exporter && (await exporter.filesApi.handle(req, res, url))) return;
      await podHandler(req, res, url);
    },
    host,
    options.ports?.pod ?? 0,
  );
  const agent = await listen(server(ctx, agentRoutes), host, options.ports?.agent ?? 0);
  const keyManager = await listen(server(ctx, keyManagerRoutes), host, options.ports?.keyManager ?? 0);

  return {
    podUrl: pod.url,
    agentUrl: agent.url,
    keyManagerUrl: keyManager.url,
    bot: { username: org.bot.userName, userId: org.bot.id, ...botKey },
    org,
    addMessage: (input) => addMessage(ctx, input),
    revokeSessions: () => ctx.tokens.revokeAll(),
    setFaults: (change) => ctx.faults.set(change),
    stats: ctx.stats,
    ...(exporter ? { contentExport: exporter.contentExport } : {}),
    async close() {
      ctx.feeds.closeAll();
      await Promise.all([close(pod.server), close(agent.server), close(keyManager.server), exporter?.close()]);
    },
  };
}
