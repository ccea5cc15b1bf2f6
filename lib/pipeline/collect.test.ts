import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { byItems } from "./collect";
import type { IncomingMessage, Participant, SourceBatch } from "./source";

/** An EML message (the simplest kind) reaching `people` recipients. */
function message(key: string, people: number): IncomingMessage {
  const participants: Participant[] = Array.from({ length: people }, (_, n) => ({ userId: n }));
  return {
    kind: "email",
    key,
    streamId: "room",
    streamType: "ROOM",
    sentAt: new Date(0),
    sender: { userId: "0" },
    participants,
    open: () => Promise.resolve(Readable.from([])),
  };
}

const keysOf = (parts: SourceBatch[]) =>
  parts.map((part) => part.messages.map((m) => (m.kind === "email" ? m.key : m.chat.messageId)));

describe("byItems", () => {
  const stream = { kind: "stream", streamId: "room", at: new Date(5), messageId: "e" } as const;

  it("keeps a page whole while its ledger rows fit, and splits it where they would not", () => {
    const page: SourceBatch = {
      messages: [message("a", 4), message("b", 4), message("c", 4), message("d", 9), message("e", 1)],
      checkpoint: stream,
    };
    expect(keysOf(byItems(page, 100))).toEqual([["a", "b", "c", "d", "e"]]);
    const parts = byItems(page, 10);
    expect(keysOf(parts)).toEqual([["a", "b"], ["c"], ["d", "e"]]);
    // Only the last part moves the conversation's checkpoint: a run stopped between parts reads the page again.
    expect(parts.map((part) => part.checkpoint.kind)).toEqual(["feed", "feed", "stream"]);
    expect(parts.at(-1)!.checkpoint).toBe(stream);
  });

  it("gives a message with more recipients than the limit a part of its own, and every part of a file the file", () => {
    const file = { kind: "export-file", exportFileId: 7n } as const;
    const parts = byItems({ messages: [message("a", 2), message("huge", 50), message("b", 2)], checkpoint: file }, 10);
    expect(keysOf(parts)).toEqual([["a"], ["huge"], ["b"]]);
    expect(parts.map((part) => part.checkpoint)).toEqual([file, file, file]);
    expect(keysOf(byItems({ messages: [], checkpoint: stream }, 10))).toEqual([[]]);
  });
});
