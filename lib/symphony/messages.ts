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

/**
 * Stands for one message whose answer alone is larger than the client reads: nothing of it (id, time,
 * sender) can be kept, so it fails alone, saying where it is (`skip` counts from the first message
 * stamped at or after `since`), and the conversation is read on past it. `after` names the message
 * read before it (or where the read began), which keys it the same in every run that meets it.
 */
export function tooLargeMessage(
  cursor: MessageCursor,
  maxBytes: number,
  place: { after: string; nth: number },
): SymphonyMessage {
  const at = new Date(cursor.since).toISOString();
  return {
    invalid: `Symphony's answer holding this message alone is larger than the connector reads (${maxBytes} bytes): the message was not read. It is the ${ordinal(cursor.skip + 1)} message sent at or after ${at}.`,
    tooLarge: place,
  };
}

function ordinal(n: number): string {
  const suffix = n % 100 >= 11 && n % 100 <= 13 ? "th" : (["th", "st", "nd", "rd"][n % 10] ?? "th");
  return `${n}${suffix}`;
}
