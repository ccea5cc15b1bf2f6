import { randomBytes } from "node:crypto";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExportFileError } from "./errors";
import { openExportContent } from "./export-content";
import { ExportReaders, type ExportReader } from "./export-reader";
import { readAll, tempDir, writeZip } from "./test-files";
import type { ExportItem } from "./types";

const T0 = 1_700_000_000;
let dir: string;
let remove: () => Promise<void>;
let counter = 0;
const readers = new ExportReaders();

beforeAll(async () => ({ dir, remove } = await tempDir()));
afterAll(async () => {
  await readers.close();
  await remove();
});

const zipOf = (xml: string, extra: { name: string; data: Buffer }[] = []) =>
  writeZip(path.join(dir, `r${++counter}.zip`), [{ name: "export.xml", data: xml }, ...extra]);

const fileDump = (conversations: string[]) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<FileDump>\n${conversations.join("\n")}\n</FileDump>\n`;
const conversation = (room: string, records: string[]) =>
  `<Conversation Perspective="Deals">\n<RoomID>${room}</RoomID>\n${records.join("\n")}\n</Conversation>`;
const entered = (login: string, at: number) =>
  `<ParticipantEntered><LoginName>${login}</LoginName><DateTimeUTC>${at}</DateTimeUTC><CorporateEmailID>${login}@acme.example</CorporateEmailID></ParticipantEntered>`;
const message = (login: string, at: number, content: string, id: string) =>
  `<Message><LoginName>${login}</LoginName><DateTimeUTC>${at}</DateTimeUTC><Content>${content}</Content><MessageId>${id}</MessageId></Message>`;
const ended = (login: string, at: number, fileName: string) =>
  `<FileTransferEnded><LoginName>${login}</LoginName><DateTimeUTC>${at}</DateTimeUTC><UserFileName>deck.pdf</UserFileName><FileName>${fileName}</FileName><Status>Completed</Status></FileTransferEnded>`;

async function batchesOf(reader: ExportReader): Promise<ExportItem[][]> {
  const batches: ExportItem[][] = [];
  for await (const batch of reader.batches()) batches.push(batch);
  return batches;
}

async function refusal(file: string, from = readers): Promise<Error> {
  return from.open(file).then(
    async (reader) => {
      await reader.close();
      return new Error("opened");
    },
    (error: unknown) => error as Error,
  );
}

describe("readExportInThread", () => {
  it("hands over in batches exactly the items openExportContent reads, and the attachments' bytes", async () => {
    const pdf = randomBytes(100_000);
    const rooms = [1, 2, 3].map((room) =>
      conversation(`room-${room}`, [
        entered("alice", T0),
        entered("bob", T0),
        ...Array.from({ length: 9 }, (_, n) => message("alice", T0 + n + 1, `room ${room} says ${n}`, `m${room}-${n}`)),
        ended("bob", T0 + 20, `files/r${room}/deck.pdf`),
      ]),
    );
    const file = await zipOf(
      fileDump(rooms),
      [1, 2, 3].map((room) => ({ name: `files/r${room}/deck.pdf`, data: pdf })),
    );
    const direct = await openExportContent(file);
    const expected: ExportItem[] = [];
    for await (const item of direct.items()) expected.push(item);
    await direct.close();

    const reader = await readers.open(file, { batch: { maxItems: 7, maxWeight: 1_000_000 } });
    try {
      expect([reader.format, reader.conversations, reader.messages]).toEqual(["ACTIANCE", 3, 30]);
      const batches = await batchesOf(reader);
      expect(batches.map((batch) => batch.length)).toEqual([7, 7, 7, 7, 2]);
      expect(batches.flat()).toEqual(expected);
      const transfer = batches.flat().find((item) => item.kind === "chat" && item.attachments.length > 0);
      if (transfer?.kind !== "chat") throw new Error("a file transfer was expected");
      expect((await readAll(await reader.openAttachment(transfer.attachments[0]!.zipPath))).equals(pdf)).toBe(true);
    } finally {
      await reader.close();
    }
  });

  it("ends a batch once its content passes the character budget", async () => {
    const big = "x".repeat(40_000);
    const file = await zipOf(
      fileDump([
        conversation("room-1", [
          entered("alice", T0),
          ...Array.from({ length: 10 }, (_, n) => message("alice", T0 + n + 1, big, `m${n}`)),
        ]),
      ]),
    );
    const reader = await readers.open(file, { batch: { maxItems: 200, maxWeight: 100_000 } });
    try {
      expect((await batchesOf(reader)).map((batch) => batch.length)).toEqual([3, 3, 3, 1]);
    } finally {
      await reader.close();
    }
  });

  it("ends a batch once its recipients pass the budget: each weighs 256 and its names", async () => {
    const crowd = Array.from({ length: 2000 }, (_, n) => entered(`person-${n}`, T0));
    const file = await zipOf(
      fileDump([
        conversation("room-1", [
          ...crowd,
          ...Array.from({ length: 10 }, (_, n) => message("person-1", T0 + n + 1, "hi", `m${n}`)),
        ]),
      ]),
    );
    const reader = await readers.open(file, { batch: { maxItems: 200, maxWeight: 1_000_000 } });
    try {
      const batches = await batchesOf(reader);
      expect(batches.map((batch) => batch.length)).toEqual([2, 2, 2, 2, 2]);
      expect(batches[0]![0]!.recipients).toHaveLength(2000);
    } finally {
      await reader.close();
    }
  });

  it("stops reading at once when the run is stopped, and reads the next file in a fresh thread", async () => {
    const crowd = Array.from({ length: 150_000 }, (_, n) => entered(`person-${n}`, T0));
    const big = await zipOf(fileDump([conversation("room-1", [...crowd, message("person-1", T0 + 1, "hi", "m1")])]));
    const stop = new AbortController();
    const reason = new Error("the run was stopped");
    const opening = readers.open(big, { signal: stop.signal });
    setTimeout(() => stop.abort(reason), 50);
    const started = performance.now();
    await expect(opening).rejects.toBe(reason);
    expect(performance.now() - started).toBeLessThan(5000);

    const next = await readers.open(
      await zipOf(fileDump([conversation("room-2", [entered("alice", T0), message("alice", T0 + 1, "hi", "m2")])])),
    );
    try {
      expect((await batchesOf(next)).flat().map((item) => item.key)).toEqual(["m2"]);
    } finally {
      await next.close();
    }
  });

  it("fails a file with the reason pass 1 found, as a file's failure", async () => {
    const file = await zipOf(fileDump([conversation("room-1", [ended("bob", T0, "../deck.pdf")])]));
    const error = await refusal(file);
    expect(error).toBeInstanceOf(ExportFileError);
    expect(error.message).toBe(
      'the <FileTransferEnded> at line 5 names the file "../deck.pdf", an unsafe path (it climbs out with ..)',
    );
  });

  it("reads files one after the other in one thread, and a file that failed leaves it for the next", async () => {
    const xml = (room: string, id: string) =>
      fileDump([conversation(room, [entered("alice", T0), message("alice", T0 + 1, "hi", id)])]);
    const threads: number[] = [];
    for (const [room, id] of [
      ["room-1", "m1"],
      ["room-2", "m2"],
    ]) {
      const reader = await readers.open(await zipOf(xml(room!, id!)));
      threads.push(reader.threadId);
      expect((await batchesOf(reader)).flat().map((item) => item.key)).toEqual([id]);
      await reader.close();
    }
    expect(await refusal(await zipOf("<FileDump><Conversation>"))).toBeInstanceOf(ExportFileError);
    const after = await readers.open(await zipOf(xml("room-3", "m3")));
    threads.push(after.threadId);
    await after.close();
    expect(new Set(threads).size).toBe(1);
  });

  it("fails a file whose index outgrows the reader's heap, and reads the next in a fresh thread", async () => {
    const small = new ExportReaders({ heapMb: 32 });
    try {
      // 150,000 people entering one room: pass 1 keeps each one, far more than a 32 MB heap holds.
      const crowd = Array.from({ length: 150_000 }, (_, n) => entered(`person-${n}-${"p".repeat(40)}`, T0));
      const hog = await zipOf(fileDump([conversation("room-1", [...crowd, message("person-1", T0 + 1, "hi", "m1")])]));
      const error = await refusal(hog, small);
      expect(error).toBeInstanceOf(ExportFileError);
      expect(error.message).toBe(
        "reading the file needed more than the export reader's 32 MB of memory (EXPORT_READER_HEAP_MB)",
      );

      const next = await zipOf(
        fileDump([conversation("room-2", [entered("alice", T0), message("alice", T0 + 1, "hi", "m2")])]),
      );
      const reader = await small.open(next);
      try {
        expect((await batchesOf(reader)).flat().map((item) => item.key)).toEqual(["m2"]);
      } finally {
        await reader.close();
      }
    } finally {
      await small.close();
    }
  });
});
