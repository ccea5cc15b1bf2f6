// Source kind "Real time (Datahose)": every conversation of the pod as Symphony's Datahose streams it
// (POST /agent/v5/events/read). The capture loop (lib/jobs/capture.ts) reads a batch, records it here
// through the same collect path as every other source (converted, staged, ledgered in one transaction
// per batch), and only then acknowledges it with the next read. Datahose promises neither order nor
// exactly-once delivery: a message is keyed by its Symphony id, like the export, so a duplicate, a
// redelivered batch or the same message in the daily export is recorded once.
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { expiringLoads } from "@/lib/async";
import { db } from "@/lib/db";
import type { Connector } from "@/lib/generated/prisma/client";
import { streamTypeSchema, type StreamType } from "@/lib/stream-types";
import {
  SymphonyError,
  type DatahoseEvent,
  type DatahoseRead,
  type StreamMember,
  type SymphonyClient,
  type SymphonyMessage,
} from "@/lib/symphony";
import { membersAt, toChatMessage } from "./chat-message";
import { applyPendingSuppressions, recordSuppression } from "./ledger";
import { collect } from "./collect";
import type { PipelineEnvironment } from "./environment";
import { createRecipientResolver } from "./recipients";
import { consentedTenant, mailboxWriterFor, stagingStoreFor, symphonyClientFor } from "./services";
import { chatIncoming, unreadable } from "./conversations-source";
import type { ArchiveSource, IncomingMessage } from "./source";

/**
 * What the capture asks the Datahose for: messages, shared wall posts, suppressions, and room joins
 * and leaves. Symphony keeps one feed per tag and event types, so a change here opens a new feed:
 * capture drains the previous one first (lib/jobs/capture.ts). Sorted, as every read sends them.
 */
export const CAPTURE_EVENT_TYPES = ["MESSAGESENT", "MESSAGESUPPRESSED", "SHAREDPOST", "USERJOINEDROOM", "USERLEFTROOM"];

/** Event types as CaptureLease.feedTypes keeps them: sorted, comma-separated. */
export function feedTypesOf(eventTypes: string[]): string {
  return [...new Set(eventTypes)].sort().join(",");
}

/**
 * The connector's feed: its workers share it (and its acknowledgements), other connectors do not. A
 * tag has at most 80 characters; Symphony keeps one feed per tag and event types.
 */
export function captureFeed(connectorId: string): { tag: string; eventTypes: string[] } {
  return { tag: `archive-${connectorId}`, eventTypes: CAPTURE_EVENT_TYPES };
}

const FILES_FROM_EXPORT = "they come with the daily Content Export, each as an item of its own";

/** A conversation's members (read again at once after a join or leave event) and kind are read again after this long. */
const CACHE_TTL_MS = 10 * 60_000;
const CACHE_ENTRIES = 2_000;

export type CaptureBatch = {
  /** Events in the read, and MESSAGESENT events among them. */
  events: number;
  messages: number;
  /** Messages new to the ledger (the rest were duplicates, redeliveries or already exported). */
  added: number;
  /** Sent time of the newest message of the batch. */
  newestAt: Date | null;
  /** Ledger items this batch's suppressions noted (an item already noted is not counted again). */
  suppressed: number;
};

export type Capture = {
  /** The feed's tag: every worker capturing this connector shares one feed (and its acknowledgements). */
  tag: string;
  /** The event types the capture asks for, sorted and comma-separated: with the tag, they name the feed. */
  feedTypes: string;
  /** One read of the feed (or of the connector's feed of other event types: one it asked for before). */
  read(ackId: string, signal?: AbortSignal, feedTypes?: string): Promise<DatahoseRead>;
  /** Records a read's messages in the ledger under `runId` (one transaction) and applies its other events. */
  record(events: DatahoseEvent[], runId: string, signal?: AbortSignal): Promise<CaptureBatch>;
};

/** A ROOM whose room details were refused: a room or a group chat, its stream does not say which. */
const ROOM_OR_GROUP_CHAT = "ROOM_OR_GROUP_CHAT";
type CapturedKind = StreamType | typeof ROOM_OR_GROUP_CHAT;

/** The capture of one connector (Datahose alone, or beside Content Export), with its own Symphony client. */
export async function openCapture(
  connectorId: string,
  options: { environment: PipelineEnvironment; symphony?: SymphonyClient },
): Promise<Capture> {
  const connector = await db.connector.findUniqueOrThrow({ where: { id: connectorId } });
  const symphony = options.symphony ?? symphonyClientFor(connector);
  // Capture runs for days: who has a mailbox is asked again every 10 minutes (someone licensed later is found).
  const writer = mailboxWriterFor(consentedTenant(connector), options.environment, { lookupTtlMs: CACHE_TTL_MS });
  const staging = await stagingStoreFor(options.environment);
  const mappings =
    connector.mappingMode === "CSV" ? await db.userMapping.findMany({ where: { connectorId: connector.id } }) : [];
  const recipientsOf = createRecipientResolver(
    writer,
    {
      mappingMode: connector.mappingMode,
      csv: new Map(mappings.map((row) => [row.symphonyKey.toLowerCase(), row.mailbox])),
      fallbackMailbox: connector.fallbackMailbox,
    },
    CACHE_TTL_MS,
  );
  const me = await symphony.sessionInfo();
  // Conversations come and go: each one's members and kind are kept 10 minutes, for at most 2,000 of them.
  const members = expiringLoads<StreamMember[]>(CACHE_TTL_MS, CACHE_ENTRIES);
  // With Content Export beside it, a file Symphony refuses comes with the export (a record of its own there).
  const withExport = connector.sourceKind === "CONTENT_EXPORT";

  function membersOf(streamId: string): Promise<StreamMember[]> {
    return members.get(streamId, () =>
      symphony.listStreamMembers(streamId).catch((error: unknown) => {
        // A conversation the admin list will not describe: its sender and the event's own people only. A
        // 400 (a wall: members are listed for IM, MIM and ROOM only) stays so; the others are asked again.
        if (!(error instanceof SymphonyError && error.code === "bad_request")) members.delete(streamId);
        if (error instanceof SymphonyError && ["forbidden", "not_found", "bad_request"].includes(error.code)) return [];
        throw error;
      }),
    );
  }

  const roomKinds = expiringLoads<CapturedKind>(CACHE_TTL_MS, CACHE_ENTRIES);

  /**
   * The kind of a message's conversation. Since SBE 20.16 a group chat is a ROOM that its room details
   * mark `groupChat`; a message's stream says only "ROOM" (V4Stream has no such flag), so a room's
   * details are asked for (once per room and 10 minutes). Undefined: a kind the connector does not know.
   */
  function kindOf(stream: SymphonyMessage["stream"]): Promise<CapturedKind | undefined> {
    const type = streamTypeSchema.safeParse(stream?.streamType);
    const streamId = stream?.streamId;
    if (!type.success || type.data !== "ROOM" || !streamId) return Promise.resolve(type.data);
    return roomKinds.get(streamId, () =>
      symphony.roomInfo(streamId).then(
        (room): CapturedKind => (room.roomAttributes?.groupChat ? "MIM" : "ROOM"),
        (error: unknown): CapturedKind => {
          // Details the service account may not read (without User Provisioning), or that do not fit.
          if (
            error instanceof SymphonyError &&
            ["forbidden", "not_found", "bad_request", "invalid_response"].includes(error.code)
          )
            return ROOM_OR_GROUP_CHAT;
          throw error;
        },
      ),
    );
  }

  async function incoming(
    message: SymphonyMessage,
    messageId: string,
    time: number,
    kind: StreamType | undefined,
    timeFrom: string,
  ): Promise<IncomingMessage> {
    const streamId = message.stream?.streamId ?? "datahose";
    const stream = { id: streamId, type: kind ?? "ROOM", attributes: { roomName: message.stream?.roomName } };
    // A message that names no conversation reaches its sender only.
    const present = message.stream?.streamId ? membersAt(await membersOf(streamId), time) : [];
    const chat = toChatMessage(message, { stream, members: present }, { messageId, timestamp: time, timeFrom });
    const captured = chatIncoming(symphony, message, chat, present);
    return withExport ? { ...captured, filesElsewhere: FILES_FROM_EXPORT } : captured;
  }

  const feed = captureFeed(connector.id);
  const archivedTypes = new Set(connector.streamTypes);
  const startAt = connector.startDate?.getTime() ?? 0;

  const ownTypes = feedTypesOf(feed.eventTypes);
  return {
    tag: feed.tag,
    feedTypes: ownTypes,
    // Always in the order the lease keeps them: whether a pod names a feed by the ordered list is not documented.
    read: (ackId, signal, feedTypes = ownTypes) =>
      symphony.readDatahose({ tag: feed.tag, eventTypes: feedTypes.split(","), ackId }, signal),
    async record(events, runId, signal) {
      const candidates: { key: string; message: SymphonyMessage; time: number; timeFrom: string }[] = [];
      let newest: number | null = null;
      for (const event of events) {
        const message = messageOf(event);
        if (!message) continue;
        const time = message.timestamp ?? event.timestamp ?? Date.now();
        const timeFrom =
          event.timestamp === null || event.timestamp === undefined
            ? "the time it was captured"
            : "the time of its Datahose event";
        newest = Math.max(newest ?? time, time);
        // With the daily export beside it, a message capture cannot read is left to the export, which
        // brings it whole under the same key (recorded failed here, the export's copy would be skipped).
        if (time >= startAt && !(withExport && unreadable(message)))
          candidates.push({
            key: message.messageId || event.messageId || eventKey(event, message),
            message,
            time,
            timeFrom,
          });
      }
      const kinds = await Promise.all(candidates.map(({ message }) => kindOf(message.stream)));
      const sent = new Map<
        string,
        { message: SymphonyMessage; time: number; timeFrom: string; kind: StreamType | undefined }
      >();
      candidates.forEach((candidate, i) => {
        const kind = kinds[i];
        // A conversation of a kind not archived (or not known) is left out; one whose stream the message
        // does not say (a message that did not fit) is recorded, failed with its reason, never lost. A
        // room whose details were refused may be either kind: kept (as the room the stream says it is)
        // when either is archived, rather than lost.
        const archived =
          kind === ROOM_OR_GROUP_CHAT
            ? archivedTypes.has("ROOM") || archivedTypes.has("MIM")
            : kind && archivedTypes.has(kind);
        if (kind ? !archived : candidate.message.stream?.streamType) return;
        // A share whose post also comes as MESSAGESENT (whether a pod sends both is not documented)
        // keeps the shared post.
        if (sent.get(candidate.key)?.message.sharedMessage && !candidate.message.sharedMessage) return;
        sent.set(candidate.key, { ...candidate, kind: kind === ROOM_OR_GROUP_CHAT ? "ROOM" : kind });
      });
      for (const event of events) {
        if (event.type !== "USERJOINEDROOM" && event.type !== "USERLEFTROOM") continue;
        const change = event.payload?.userJoinedRoom ?? event.payload?.userLeftRoom;
        if (change?.stream?.streamId) members.delete(change.stream.streamId);
      }
      const messages = await Promise.all(
        [...sent].map(([key, { message, time, kind, timeFrom }]) => incoming(message, key, time, kind, timeFrom)),
      );
      let added = 0;
      if (messages.length > 0) {
        const source: ArchiveSource = {
          parallelism: 1,
          // One unit of one batch, with no checkpoint: the read's ackId is what moves on once it is recorded.
          units: () =>
            Readable.from([[{ batches: () => Readable.from([{ messages, checkpoint: { kind: "feed" } }]) }]]),
          serviceAccount: () => Promise.resolve({ userId: String(me.id), email: me.emailAddress ?? undefined }),
          close: () => Promise.resolve(),
        };
        await collect(
          {
            connectorId,
            runId,
            staging,
            recipientsOf,
            parallelism: 8,
            signal,
            onMessages: (count) => {
              added += count;
            },
          },
          source,
        );
      }
      // Suppressions read before their messages are noted once the messages are recorded: by this batch
      // here, by a run at the end of its collect (runImport).
      const suppressed =
        (await recordSuppressions(connectorId, events)) + (added > 0 ? await applyPendingSuppressions(connectorId) : 0);
      return {
        events: events.length,
        messages: sent.size,
        added,
        newestAt: newest === null ? null : new Date(newest),
        suppressed,
      };
    },
  };
}

/**
 * The message an event brings: a message sent, or a wall post shared (the sharer's post, with the post
 * it shares as its `sharedMessage`). An event of either type without its message (V4Event's
 * `diagnostic`: the agent "failed to parse" it) is the message as far as the event tells, failed with
 * that reason for its sender: acknowledged, it would otherwise leave no trace.
 */
function messageOf(event: DatahoseEvent): SymphonyMessage | undefined {
  if (event.type !== "MESSAGESENT" && event.type !== "SHAREDPOST") return undefined;
  const message =
    event.type === "MESSAGESENT" ? event.payload?.messageSent?.message : event.payload?.sharedPost?.message;
  if (message) return message;
  return {
    messageId: event.messageId,
    timestamp: event.timestamp,
    ...(event.initiator?.user && { user: event.initiator.user }),
    ...(event.diagnostic
      ? { diagnostic: event.diagnostic }
      : { invalid: `Symphony sent a ${event.type} event without its message` }),
  };
}

/** A stable key for a message sent without an id: its event's id stays the same when the event is delivered again. */
function eventKey(event: DatahoseEvent, message: SymphonyMessage): string {
  return `datahose-${createHash("sha256")
    .update(JSON.stringify([event.id ?? null, message]))
    .digest("hex")}`;
}

/** MESSAGESUPPRESSED: the archive keeps the message (a compliance copy is what it is for), noted. */
async function recordSuppressions(connectorId: string, events: DatahoseEvent[]): Promise<number> {
  let count = 0;
  for (const event of events) {
    const messageId =
      event.payload?.messageSuppressed?.messageId ?? (event.type === "MESSAGESUPPRESSED" ? event.messageId : null);
    if (event.type !== "MESSAGESUPPRESSED" || !messageId) continue;
    count += await recordSuppression(connectorId, messageId, new Date(event.timestamp ?? Date.now()));
  }
  return count;
}

/** Whether the connector captures from the Datahose (alone, or beside its Content Export). */
export function capturesRealtime(connector: Pick<Connector, "sourceKind" | "realtime">): boolean {
  return connector.sourceKind === "DATAHOSE" || (connector.sourceKind === "CONTENT_EXPORT" && connector.realtime);
}
