// Datafeed v2: feeds of the bot, long-poll reads, and redelivery of events not acknowledged.
import { randomBytes, randomUUID } from "node:crypto";
import { onTheWire, type V4Message, type V4User } from "./messages";

export type V4Event = {
  id: string;
  messageId: string;
  timestamp: number;
  type: "MESSAGESENT";
  initiator: { user: V4User };
  payload: { messageSent: { message: ReturnType<typeof onTheWire> } };
};

export type V5Datafeed = { id: string; createdAt: number; type: "fanout" };

type Feed = V5Datafeed & {
  queue: V4Event[];
  pending: { ackId: string; events: V4Event[] } | null;
  wake: (() => void) | null;
};

const MAX_EVENTS_PER_READ = 100;

export type Datafeeds = ReturnType<typeof datafeeds>;

export function datafeeds(readTimeoutMs: number) {
  const feeds = new Map<string, Feed>();
  const describe = ({ id, createdAt, type }: Feed): V5Datafeed => ({ id, createdAt, type });

  return {
    create(): V5Datafeed {
      const feed: Feed = {
        id: randomBytes(16).toString("hex"),
        createdAt: Date.now(),
        type: "fanout",
        queue: [],
        pending: null,
        wake: null,
      };
      feeds.set(feed.id, feed);
      return describe(feed);
    },
    list: (): V5Datafeed[] => [...feeds.values()].map(describe),
    remove(id: string): boolean {
      const feed = feeds.get(id);
      feed?.wake?.();
      return feeds.delete(id);
    },
    publish(message: V4Message): void {
      const event = messageSentEvent(message);
      for (const feed of feeds.values()) {
        feed.queue.push(event);
        feed.wake?.();
      }
    },
    /** Null when the feed does not exist. Waits up to the read timeout when nothing is waiting. */
    async read(id: string, ackId: string, signal: AbortSignal): Promise<{ events: V4Event[]; ackId: string } | null> {
      const feed = feeds.get(id);
      if (!feed) return null;
      if (feed.pending && feed.pending.ackId === ackId) feed.pending = null;
      if (!feed.pending && feed.queue.length === 0) {
        feed.wake?.(); // one reader at a time: an earlier waiting read returns empty
        await new Promise<void>((resolve) => {
          const done = () => {
            clearTimeout(timer);
            signal.removeEventListener("abort", done);
            if (feed.wake === done) feed.wake = null;
            resolve();
          };
          const timer = setTimeout(done, readTimeoutMs);
          signal.addEventListener("abort", done);
          feed.wake = done;
        });
        if (!feeds.has(id)) return null;
      }
      const events = [
        ...(feed.pending?.events ?? []),
        ...feed.queue.splice(0, MAX_EVENTS_PER_READ - (feed.pending?.events.length ?? 0)),
      ];
      const next = randomBytes(24).toString("base64url");
      feed.pending = events.length > 0 ? { ackId: next, events } : null;
      return { events, ackId: next };
    },
    closeAll(): void {
      for (const feed of feeds.values()) feed.wake?.();
      feeds.clear();
    },
  };
}

/** The MESSAGESENT event of a message, as datafeeds and the Datahose carry it. */
export function messageSentEvent(message: V4Message): V4Event {
  return {
    id: randomUUID(),
    messageId: message.messageId,
    timestamp: message.timestamp,
    type: "MESSAGESENT",
    initiator: { user: message.user },
    // As the history lists it: a message the agent could not read carries its diagnostic instead of its content.
    payload: { messageSent: { message: onTheWire(message) } },
  };
}
