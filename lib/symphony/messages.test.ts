import { describe, expect, it } from "vitest";
import { nextMessageCursor, toUrlSafeId, type MessageCursor } from "./messages";
import type { SymphonyMessage } from "./schemas";

const message = (id: string, timestamp: number) =>
  ({ messageId: id, timestamp, message: "", user: { userId: 1 }, stream: { streamId: "s" } }) as SymphonyMessage;

/** The documented server side: messages stamped >= since, oldest first, skip, then limit. */
function page(all: SymphonyMessage[], { since, skip }: MessageCursor, limit: number) {
  return all.filter((m) => m.timestamp >= since).slice(skip, skip + limit);
}

function readAll(all: SymphonyMessage[], since: number, limit: number): string[] {
  const seen: string[] = [];
  let cursor: MessageCursor = { since, skip: 0 };
  for (;;) {
    const current = page(all, cursor, limit);
    seen.push(...current.map((m) => m.messageId));
    if (current.length < limit) return seen;
    cursor = nextMessageCursor(cursor, current);
  }
}

describe("nextMessageCursor", () => {
  it("reads every message exactly once when timestamps repeat across and beyond page boundaries", () => {
    const stamps = [1, 2, 2, 2, 3, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 6, 7, 7, 8, 8, 8];
    const all = stamps.map((t, i) => message(`m${i}`, t));
    for (const limit of [1, 2, 3, 4, 5, 7, 50]) {
      expect(readAll(all, 0, limit)).toEqual(all.map((m) => m.messageId));
      expect(readAll(all, 5, limit)).toEqual(all.filter((m) => m.timestamp >= 5).map((m) => m.messageId));
    }
  });
});

describe("toUrlSafeId", () => {
  it("turns standard base64 into the URL-safe form Symphony paths take", () => {
    expect(toUrlSafeId("lHrq+/9kN3Bz/ab==")).toBe("lHrq-_9kN3Bz_ab");
    expect(toUrlSafeId("already-url_safe")).toBe("already-url_safe");
  });
});
