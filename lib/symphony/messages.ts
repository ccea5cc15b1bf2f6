import { toUrlSafeBase64 } from "@/lib/base64";
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
  // Every V4Message field is optional: a message without a timestamp counts as stamped like its
  // neighbours (it was returned with them), and a page with no timestamp at all is skipped past.
  const lastTime = page.findLast((message) => typeof message.timestamp === "number")?.timestamp;
  if (page.length === 0) return cursor;
  if (typeof lastTime !== "number") return { since: cursor.since, skip: cursor.skip + page.length };
  let sameTimestamp = 0;
  for (let i = page.length - 1; i >= 0 && (page[i]?.timestamp ?? lastTime) === lastTime; i--) sameTimestamp++;
  return lastTime === cursor.since
    ? { since: cursor.since, skip: cursor.skip + sameTimestamp }
    : { since: lastTime, skip: sameTimestamp };
}

/** Symphony paths take stream and message ids in URL-safe base64 ("+" -> "-", "/" -> "_", no "="). */
export function toUrlSafeId(id: string): string {
  return toUrlSafeBase64(id);
}
