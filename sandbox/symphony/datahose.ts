// Datahose (POST /agent/v5/events/read): a real-time feed of every conversation of the pod, shared by
// the readers that send the same tag and event types, with ackIds, redelivery and injectable disorder.
import { randomBytes } from "node:crypto";
import { z } from "zod";
import type { V4Message, V4User } from "./messages";

import { messageSentEvent, type V4Event } from "./datafeed";

export { messageSentEvent };

/** The event types V5EventsReadBody.eventTypes accepts (agent-api-public.yaml). */
export const DATAHOSE_EVENT_TYPES = [
  "MESSAGESENT",
  "MESSAGESUPPRESSED",
  "SYMPHONYELEMENTSACTION",
  "SHAREDPOST",
  "INSTANTMESSAGECREATED",
  "ROOMCREATED",
  "ROOMUPDATED",
  "ROOMDEACTIVATED",
  "ROOMREACTIVATED",
  "USERREQUESTEDTOJOINROOM",
  "USERJOINEDROOM",
  "USERLEFTROOM",
  "ROOMMEMBERPROMOTEDTOOWNER",
  "ROOMMEMBERDEMOTEDFROMOWNER",
  "CONNECTIONREQUESTED",
  "CONNECTIONACCEPTED",
] as const;

export type V4Stream = V4Message["stream"];

export type DatahoseEvent = {
  id: string;
  messageId?: string;
  timestamp: number;
  type: "MESSAGESENT" | "SHAREDPOST" | "MESSAGESUPPRESSED" | "USERJOINEDROOM" | "USERLEFTROOM";
  initiator: { user: V4User };
  payload:
    | V4Event["payload"]
    | { sharedPost: { message: V4Message; sharedMessage: V4Message } }
    | { messageSuppressed: { messageId: string; stream: V4Stream } }
    | { userJoinedRoom: { stream: V4Stream; affectedUser: V4User } }
    | { userLeftRoom: { stream: V4Stream; affectedUser: V4User } };
};

/**
 * The SHAREDPOST event of a share (agent-api-public.yaml V4SharedPost {message, sharedMessage};
 * Symphony's real-time events page: `message` is the sharer's post on their wall, `sharedMessage` "the
 * original wall post that is being shared"). The share's own message is sent without `sharedMessage`
 * here, so that a reader takes the shared post from where V4SharedPost puts it.
 */
export function sharedPostEvent(message: V4Message, sharedMessage: V4Message): DatahoseEvent {
  const { sharedMessage: _inMessage, ...share } = message;
  return { ...messageSentEvent(share), type: "SHAREDPOST", payload: { sharedPost: { message: share, sharedMessage } } };
}

export const datahoseSettingsSchema = z.object({
  /** Whether the pod has the Datahose add-on (false: every read answers 403). */
  entitled: z.boolean(),
  /** Live traffic: messages added per second into random active streams of the organisation (0: none). */
  messagesPerSecond: z.number().min(0).max(2000),
  /** How long a batch waits for its acknowledgement before its events are delivered again. */
  visibilityTimeoutMs: z.number().int().min(0).max(600_000),
  /** Share of events delivered a second time in a later batch (0..1, exact like the fault shares). */
  duplicateShare: z.number().min(0).max(1),
  /** Each batch newest first, and every other batch's events swapped with the next one's. */
  outOfOrder: z.boolean(),
  /** How long a read waits for events when none are waiting. */
  readTimeoutMs: z.number().int().min(0).max(120_000),
});
export type DatahoseSettings = z.infer<typeof datahoseSettingsSchema>;

export const DEFAULT_DATAHOSE: DatahoseSettings = {
  entitled: true,
  messagesPerSecond: 0,
  // symphony-bdk-java AbstractAckIdEventLoop: "the DFv2 default visibility timeout, after which an event is re-queued" (30 s).
  visibilityTimeoutMs: 30_000,
  duplicateShare: 0,
  outOfOrder: false,
  readTimeoutMs: 30_000,
};

export const readBodySchema = z.object({
  type: z.literal("datahose"),
  tag: z.string().min(1).max(80),
  eventTypes: z.array(z.enum(DATAHOSE_EVENT_TYPES)).min(1),
  scopes: z.array(z.enum(["INTERNAL", "EXTERNAL", "FEDERATED"])).optional(),
  ackId: z.string().optional(),
  updatePresence: z.boolean().optional(),
});
export type ReadBody = z.infer<typeof readBodySchema>;

type Feed = {
  types: Set<string>;
  queue: DatahoseEvent[];
  /** Batches handed out and not yet acknowledged, by their ackId. */
  inFlight: Map<string, { events: DatahoseEvent[]; until: number }>;
  /** The last MAX_ISSUED ackIds handed out (empty batches' too), oldest first. */
  issued: Set<string>;
  /** AckIds the agent no longer knows (forgetAckIds): a read that sends one is refused. */
  forgotten: Set<string>;
  waiters: Set<() => void>;
  batches: number;
};

const MAX_EVENTS_PER_READ = 100;
const MAX_ISSUED = 1000;

/** A read whose ackId the agent does not know: answered 400, the spec's error for a bad read request. */
export class UnknownAckIdError extends Error {
  constructor() {
    super("The ackId is not valid for this feed: read again with an empty ackId");
  }
}

export type Datahose = ReturnType<typeof datahose>;

export function datahose(initial: Partial<DatahoseSettings> = {}) {
  let settings = datahoseSettingsSchema.parse({ ...DEFAULT_DATAHOSE, ...initial });
  const feeds = new Map<string, Feed>();
  let duplicateDebt = 0;
  const duplicated = new WeakSet<DatahoseEvent>();
  const stats = { published: 0, delivered: 0, redelivered: 0, duplicated: 0, refusedAckIds: 0 };

  const feedKey = (body: ReadBody) => `${body.tag}\u0001${[...new Set(body.eventTypes)].sort().join(",")}`;

  function wake(feed: Feed) {
    for (const waiter of [...feed.waiters]) waiter();
  }

  /** Expired batches go back to the front of the queue, oldest first. */
  function requeueExpired(feed: Feed, now: number) {
    const expired = [...feed.inFlight.entries()].filter(([, batch]) => batch.until <= now);
    for (const [ackId] of expired) feed.inFlight.delete(ackId);
    const events = expired.flatMap(([, batch]) => batch.events);
    stats.redelivered += events.length;
    feed.queue.unshift(...events);
  }

  function nextExpiry(feed: Feed): number | undefined {
    const times = [...feed.inFlight.values()].map((batch) => batch.until);
    return times.length > 0 ? Math.min(...times) : undefined;
  }

  return {
    settings: () => settings,
    set(change: Partial<DatahoseSettings>): DatahoseSettings {
      settings = datahoseSettingsSchema.parse({ ...settings, ...change });
      duplicateDebt = 0;
      return settings;
    },
    stats,
    publish(event: DatahoseEvent): void {
      stats.published++;
      for (const feed of feeds.values()) {
        if (!feed.types.has(event.type)) continue;
        feed.queue.push(event);
        wake(feed);
      }
    },
    /**
     * One read: acknowledges the batch of `ackId`, then hands out up to 100 waiting events (expired
     * batches first), waiting up to the read timeout when there are none. The feed is created by its
     * first read.
     */
    async read(body: ReadBody, signal: AbortSignal): Promise<{ events: DatahoseEvent[]; ackId: string }> {
      const key = feedKey(body);
      let feed = feeds.get(key);
      if (!feed) {
        feed = {
          types: new Set(body.eventTypes),
          queue: [],
          inFlight: new Map(),
          issued: new Set(),
          forgotten: new Set(),
          waiters: new Set(),
          batches: 0,
        };
        feeds.set(key, feed);
      }
      if (body.ackId && feed.forgotten.has(body.ackId)) {
        stats.refusedAckIds++;
        throw new UnknownAckIdError();
      }
      if (body.ackId) feed.inFlight.delete(body.ackId);
      const started = Date.now();
      requeueExpired(feed, started);
      while (feed.queue.length === 0 && !signal.aborted) {
        const left = started + settings.readTimeoutMs - Date.now();
        if (left <= 0) break;
        const expiry = nextExpiry(feed);
        const wait = Math.max(1, Math.min(left, expiry === undefined ? left : expiry - Date.now()));
        const current = feed;
        await new Promise<void>((resolve) => {
          const done = () => {
            clearTimeout(timer);
            signal.removeEventListener("abort", done);
            current.waiters.delete(done);
            resolve();
          };
          const timer = setTimeout(done, wait);
          signal.addEventListener("abort", done);
          current.waiters.add(done);
        });
        requeueExpired(feed, Date.now());
      }
      let events = feed.queue.splice(0, MAX_EVENTS_PER_READ);
      const ackId = randomBytes(24).toString("base64url");
      feed.issued.add(ackId);
      for (const oldest of feed.issued) {
        if (feed.issued.size <= MAX_ISSUED) break;
        feed.issued.delete(oldest);
      }
      if (events.length === 0) return { events, ackId };
      feed.batches++;
      if (settings.outOfOrder) {
        events = events.reverse();
        // Every other batch also trades its newest event with the next batch's oldest.
        if (feed.batches % 2 === 1 && feed.queue.length > 0 && events.length > 1) {
          const [later] = feed.queue.splice(0, 1, events.shift()!);
          events.push(later!);
        }
      }
      for (const event of events) {
        if (duplicated.has(event)) continue;
        duplicateDebt += settings.duplicateShare;
        if (duplicateDebt >= 1 - 1e-9) {
          duplicateDebt -= 1;
          stats.duplicated++;
          duplicated.add(event);
          feed.queue.push(event);
        }
      }
      stats.delivered += events.length;
      feed.inFlight.set(ackId, { events, until: Date.now() + settings.visibilityTimeoutMs });
      return { events, ackId };
    },
    /**
     * A fault: the agent forgets the ackIds it has handed out so far (whether a real agent expires
     * them, after a long pause or a restart of its own, is not documented). A read that sends one of
     * them answers 400 from then on; a read with an empty ackId starts a new chain, and the batches
     * those ackIds held come again once their visibility timeout ends.
     */
    forgetAckIds(): void {
      for (const feed of feeds.values()) {
        for (const ackId of feed.issued) feed.forgotten.add(ackId);
        feed.issued.clear();
      }
    },
    closeAll(): void {
      for (const feed of feeds.values()) wake(feed);
      feeds.clear();
    },
  };
}
