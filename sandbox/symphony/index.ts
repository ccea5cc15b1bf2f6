// A local Symphony: pod, agent and key manager as three HTTP servers over a seeded organisation.
import { generateKeyPair } from "node:crypto";
import { promisify } from "node:util";
import { close, listen, type Handler } from "../http";
import { generateOrg, type Org, type OrgOptions } from "../org";
import {
  addMessage,
  adminRoutes,
  roomMembershipEvent,
  setStreamFault,
  suppressMessage,
  type AddMessageInput,
  type RoomMembershipInput,
  type StreamFaultInput,
  type SuppressInput,
} from "./admin";
import { agentRoutes } from "./agent";
import { importBotKey, tokenStore } from "./auth";
import { startContentExport, type ContentExport, type ContentExportOptions } from "./content-export";
import { server, type Context } from "./context";
import { datafeeds } from "./datafeed";
import { datahose, messageSentEvent, type DatahoseEvent, type DatahoseSettings } from "./datahose";
import { emptyStats, faultGate, type Faults, type Stats } from "./faults";
import { listMessages, type V4Message } from "./messages";
import { currentMembers, type CurrentMember } from "./membership";
import { keyManagerRoutes, podRoutes } from "./pod";
import { startTraffic } from "./traffic";

export type { AddMessageInput, RoomMembershipInput, StreamFaultInput, SuppressInput } from "./admin";
export type { DatahoseEvent, DatahoseSettings } from "./datahose";
export { currentMembers, type CurrentMember } from "./membership";
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
  /**
   * Whether the bot is the pod's Content Export service user, which downloads the attachments of every
   * conversation, not only those it is in (default false).
   */
  botIsContentExportUser?: boolean;
  faults?: Partial<Faults>;
  /** How long a datafeed read waits for events (default 30 s; also the Datahose's unless set there). */
  datafeedTimeoutMs?: number;
  /**
   * The Datahose (POST /agent/v5/events/read): whether the pod has the add-on (default true), live
   * traffic, redelivery timeout, duplicates and disorder (see README).
   */
  datahose?: Partial<DatahoseSettings>;
  host?: string;
  ports?: { pod?: number; agent?: number; keyManager?: number };
  /** Content Export files, the Files API, its storage server and SFTP (off when absent; see README). */
  contentExport?: ContentExportOptions;
  /**
   * Whether the pod offers simplified key delivery: its session tokens then carry
   * `canUseSimplifiedKeyDelivery`, and an agent of 24.12 or later serves calls without a key manager
   * token (default false: the key manager is needed, as on older pods).
   */
  simplifiedKeyDelivery?: boolean;
  /** The agent's version, as GET /agent/v1/info reports it (default "25.8.1"). */
  agentVersion?: string;
  /**
   * How far the servers' clock runs ahead of this machine's (negative: behind), in ms: their `Date`
   * headers say so and login JWTs are judged by it (default 0).
   */
  clockSkewMs?: number;
};

export type SymphonySandbox = {
  podUrl: string;
  agentUrl: string;
  keyManagerUrl: string;
  bot: { username: string; userId: number; privateKeyPem: string; publicKeyPem: string };
  org: Org;
  /** Adds a message now; with `diagnostic`, one the agent cannot decrypt (sent with that text instead of content). */
  addMessage(input: AddMessageInput): V4Message;
  /** Makes one stream's message history answer 400, 403 or 404 (null: normal again). */
  setStreamFault(input: StreamFaultInput): void;
  /** The stream's members as the membership list shows them now (people who left are absent), with join dates. */
  currentMembers(streamId: string): CurrentMember[];
  /** Every message the stream holds now (generated, then added), oldest first, as the agent stores them. */
  history(streamId: string): V4Message[];
  revokeSessions(): void;
  setFaults(change: Partial<Faults>): Faults;
  /** Changes the Datahose settings (entitlement, live traffic rate, redelivery, duplicates, disorder). */
  setDatahose(change: Partial<DatahoseSettings>): DatahoseSettings;
  /** Gives or takes the service account's User Provisioning role (admin endpoints answer 403 without it). */
  setBotIsAdmin(value: boolean): void;
  /** The agent forgets the Datahose ackIds it handed out: reads that send one answer 400 (a fault). */
  forgetDatahoseAckIds(): void;
  /** Events published to the Datahose, handed out, handed out again after a timeout, duplicated. */
  datahoseStats: {
    published: number;
    delivered: number;
    redelivered: number;
    duplicated: number;
    refusedAckIds: number;
  };
  /** Sends a MESSAGESUPPRESSED event for a message to the Datahose. */
  suppressMessage(input: SuppressInput): void;
  /** Sends a USERJOINEDROOM / USERLEFTROOM event to the Datahose. */
  roomMembershipEvent(input: RoomMembershipInput): void;
  /**
   * Sends an event to the Datahose exactly as given, whether it fits V4Event or not: tests of what an
   * agent may send that the connector does not expect (a field of another type, a message without id).
   */
  publishRawDatahoseEvent(event: { type: string } & Record<string, unknown>): void;
  /**
   * Sends the history of [from, to) of the given streams to the Datahose as if it were being said now,
   * leaving out every `missEvery`-th message (a stream that missed them): for tests of capture beside
   * the daily export. Answers the ids sent and missed.
   */
  replayToDatahose(input: { streamIds: string[]; from: number; to: number; missEvery?: number }): {
    sent: string[];
    missed: string[];
  };
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
    tokens: tokenStore({ subject: String(org.bot.id), simplifiedKeyDelivery: options.simplifiedKeyDelivery ?? false }),
    botKey: await importBotKey(botKey.publicKeyPem),
    feeds: datafeeds(options.datafeedTimeoutMs ?? 30_000),
    datahose: datahose({ readTimeoutMs: options.datafeedTimeoutMs ?? 30_000, ...options.datahose }),
    faults: faultGate(options.faults),
    stats: emptyStats(),
    botIsAdmin: options.botIsAdmin ?? true,
    botIsContentExportUser: options.botIsContentExportUser ?? false,
    keyDelivery: { simplified: options.simplifiedKeyDelivery ?? false, agentVersion: options.agentVersion ?? "25.8.1" },
    streamFaults: new Map(),
    now: () => Date.now() + (options.clockSkewMs ?? 0),
  };
  // Every answer of the three servers carries their own clock's time (RFC 9110, 6.6.1).
  const clocked =
    (handler: Handler): Handler =>
    (req, res, url) => {
      res.setHeader("date", new Date(ctx.now()).toUTCString());
      return handler(req, res, url);
    };
  const host = options.host ?? "127.0.0.1";
  const exporter = options.contentExport
    ? await startContentExport(options.contentExport, { org, sessions: ctx.tokens, stats: ctx.stats, host })
    : undefined;
  const podHandler = server(ctx, [...podRoutes, ...adminRoutes]);
  const pod = await listen(
    clocked(async (req, res, url) => {
      // The Files API has its own errors ({"error"}), auth (Bearer) and fault switches.
      if (exporter && (await exporter.filesApi.handle(req, res, url))) return;
      await podHandler(req, res, url);
    }),
    host,
    options.ports?.pod ?? 0,
  );
  const agent = await listen(clocked(server(ctx, agentRoutes)), host, options.ports?.agent ?? 0);
  const keyManager = await listen(clocked(server(ctx, keyManagerRoutes)), host, options.ports?.keyManager ?? 0);
  const traffic = startTraffic(ctx);

  return {
    podUrl: pod.url,
    agentUrl: agent.url,
    keyManagerUrl: keyManager.url,
    bot: { username: org.bot.userName, userId: org.bot.id, ...botKey },
    org,
    addMessage: (input) => addMessage(ctx, input),
    setStreamFault: (input) => setStreamFault(ctx, input),
    currentMembers(streamId) {
      const stream = ctx.streamsById.get(streamId);
      if (!stream) throw new Error(`Stream ${streamId} not found`);
      return currentMembers(org, stream);
    },
    history(streamId) {
      const stream = ctx.streamsById.get(streamId);
      if (!stream) throw new Error(`Stream ${streamId} not found`);
      return listMessages(org, ctx.added, stream, 0, 0, Infinity);
    },
    revokeSessions: () => ctx.tokens.revokeAll(),
    setFaults: (change) => ctx.faults.set(change),
    setDatahose: (change) => ctx.datahose.set(change),
    forgetDatahoseAckIds: () => ctx.datahose.forgetAckIds(),
    setBotIsAdmin: (value) => {
      ctx.botIsAdmin = value;
    },
    datahoseStats: ctx.datahose.stats,
    suppressMessage: (input) => suppressMessage(ctx, input),
    roomMembershipEvent: (input) => roomMembershipEvent(ctx, input),
    publishRawDatahoseEvent: (event) => ctx.datahose.publish(event as unknown as DatahoseEvent),
    replayToDatahose({ streamIds, from, to, missEvery }) {
      const replayed = streamIds.flatMap((id) => {
        const stream = ctx.streamsById.get(id);
        if (!stream) throw new Error(`Stream ${id} not found`);
        return listMessages(org, ctx.added, stream, from, 0, Infinity).filter((m) => m.timestamp < to);
      });
      const sent: string[] = [];
      const missed: string[] = [];
      replayed.forEach((message, i) => {
        if (missEvery && (i + 1) % missEvery === 0) return void missed.push(message.messageId);
        sent.push(message.messageId);
        ctx.datahose.publish(messageSentEvent(message));
      });
      return { sent, missed };
    },
    stats: ctx.stats,
    ...(exporter ? { contentExport: exporter.contentExport } : {}),
    async close() {
      traffic.stop();
      ctx.feeds.closeAll();
      ctx.datahose.closeAll();
      await Promise.all([close(pod.server), close(agent.server), close(keyManager.server), exporter?.close()]);
    },
  };
}
