import type { SymphonyMessage } from "./schemas";

/** Where the next page of GET /agent/v4/stream/{sid}/message starts. */
export type MessageCursor = {
  /** Timestamp (epoch ms) of the first message wanted. */
  since: number;
  /** How many messages stamped exactly `since` were already returned. */
  skip: number;
};

/**
 * Symphony's contract (agent-api-public.yaml): pass the timestamp of the last message seen as
 * `since` and the number of messages with that same timestamp already seen as `skip`; then every
 * message is seen once, even when many share a timestamp across page boundaries. Pages are
 * oldest first, so all messages of a page are stamped >= cursor.since.
 */
export function nextMessageCursor(cursor: MessageCursor, page: readonly SymphonyMessage[]): MessageCursor {
  const last = page.at(-1);
  if (!last) return cursor;
  let sameTimestamp = 0;
  for (let i = page.length - 1; i >= 0 && page[i]?.timestamp === last.timestamp; i--) sameTimestamp++;
  return last.timestamp === cursor.since
    ? { since: cursor.since, skip: cursor.skip + sameTimestamp }
    : { since: last.timestamp, skip: sameTimestamp };
}

/** Symphony paths take stream and message ids in URL-safe base64 ("+" -> "-", "/" -> "_", no "="). */
export function toUrlSafeId(id: string): string {
  return id.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
