import { describe, expect, it } from "vitest";
import { nextMessageCursor, toUrlSafeId, type MessageCursor } from "./messages";
import { messageListSchema, type SymphonyMessage } from "./schemas";

type Stamped = SymphonyMessage & { messageId: string; timestamp: number };
const message = (id: string, timestamp: number): Stamped => ({
  messageId: id,
  timestamp,
  message: "",
  user: { userId: 1 },
  stream: { streamId: "s" },
});

/** The documented server side: messages stamped >= since, oldest first, skip, then limit. */
function page(all: Stamped[], { since, skip }: MessageCursor, limit: number) {
  return all.filter((m) => m.timestamp >= since).slice(skip, skip + limit);
}

function readAll(all: Stamped[], since: number, limit: number): string[] {
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

describe("nextMessageCursor with messages that carry no timestamp (every V4Message field is optional)", () => {
  it("counts an unstamped message like its neighbours and never stays on a page without any timestamp", () => {
    const unstamped = { messageId: "x" } satisfies SymphonyMessage;
    expect(nextMessageCursor({ since: 0, skip: 0 }, [message("a", 4), message("b", 5), unstamped])).toEqual({
      since: 5,
      skip: 2,
    });
    expect(nextMessageCursor({ since: 5, skip: 2 }, [unstamped, unstamped])).toEqual({ since: 5, skip: 4 });
  });
});

describe("a page of V4Messages", () => {
  it("takes any field missing, and lets an item that does not fit fail alone, keeping its id and time", () => {
    const page = messageListSchema.parse([
      { messageId: "a", timestamp: 1, message: "<div/>", user: { userId: 7 }, stream: { streamId: "s" } },
      { messageId: "b", timestamp: 2, diagnostic: "Failed to decrypt" },
      { messageId: "c", timestamp: 3, attachments: [{ name: "no id.pdf", size: "big" }] },
      "not a message",
      // Past the year 9999: written as a date, it would stop every page it is on.
      { messageId: "d", timestamp: 253_402_300_800_000, message: "<div/>" },
    ]);
    expect(page.map((m) => [m.messageId, m.timestamp])).toEqual([
      ["a", 1],
      ["b", 2],
      ["c", 3],
      [undefined, undefined],
      ["d", undefined],
    ]);
    expect(page[4]?.invalid).toMatch(/^Symphony sent a message the connector cannot read \(timestamp: /);
    expect(page[1]).toMatchObject({ diagnostic: "Failed to decrypt" });
    expect(page[1]?.invalid).toBeUndefined();
    expect(page[2]?.invalid).toMatch(/^Symphony sent a message the connector cannot read \(attachments\.0\.id/);
    expect(page[3]?.invalid).toBeDefined();
  });
});

describe("toUrlSafeId", () => {
  it("turns standard base64 into the URL-safe form Symphony paths take", () => {
    expect(toUrlSafeId("lHrq+/9kN3Bz/ab==")).toBe("lHrq-_9kN3Bz_ab");
    expect(toUrlSafeId("already-url_safe")).toBe("already-url_safe");
  });
});
