// An export reader thread (see ./export-reader.ts). Reads one file at a time: on "open" it checks the
// whole file (pass 1) and answers "opened"; each "next" gets one batch of its items (pass 2); "close"
// lets the file go, and the thread waits for the next one. Everything either pass keeps lives in this
// thread's heap, under its own limit.
import { parentPort } from "node:worker_threads";
import { errorMessage } from "@/lib/errors";
import { ExportFileError } from "./errors";
import { openExportContent, type ExportContent } from "./export-content";
import type { ReaderAnswer, ReaderRequest } from "./export-reader";
import type { ExportItem } from "./types";

const port = parentPort;
if (!port) throw new Error("export-reader-thread runs in a worker thread");

/** An error of the file itself fails the file; any other (the disk) fails the try, which is retried. */
function failed(error: unknown): ReaderAnswer {
  const fileError = error instanceof ExportFileError || (error instanceof Error && error.name === "ZodError");
  return { kind: "failed", message: errorMessage(error), fileError };
}

/** What an item weighs against a batch's budget: its text's characters, and its recipients (each a few objects in the worker). */
function weightOf(item: ExportItem): number {
  let weight = item.kind === "chat" ? item.content.length : (item.subject?.length ?? 0);
  for (const person of item.recipients)
    weight +=
      RECIPIENT_WEIGHT + person.loginName.length + (person.email?.length ?? 0) + (person.displayName?.length ?? 0);
  return weight;
}
const RECIPIENT_WEIGHT = 256;

let file: { content: ExportContent; items: AsyncIterator<ExportItem>; maxItems: number; maxWeight: number } | undefined;

async function answer(request: ReaderRequest): Promise<ReaderAnswer> {
  if (request.kind === "open") {
    const content = await openExportContent(request.zipPath, request.limits);
    file = { content, items: content.items()[Symbol.asyncIterator](), ...request.batch };
    return { kind: "opened", format: content.format, conversations: content.conversations, messages: content.messages };
  }
  if (request.kind === "close") {
    // A file let go part-way: its reading ends first, so that the entry it was on is closed too.
    await file?.items.return?.();
    await file?.content.close();
    file = undefined;
    return { kind: "closed" };
  }
  if (!file) throw new Error("no export file is open");
  const batch: ExportItem[] = [];
  let weight = 0;
  while (batch.length < file.maxItems && weight < file.maxWeight) {
    const next = await file.items.next();
    if (next.done) return { kind: "items", items: batch, done: true };
    batch.push(next.value);
    weight += weightOf(next.value);
  }
  return { kind: "items", items: batch, done: false };
}

// Requests come one at a time: the reader waits for each answer before it asks again.
port.on("message", (request: ReaderRequest) => {
  void answer(request).then(
    (reply) => port.postMessage(reply),
    (error: unknown) => port.postMessage(failed(error)),
  );
});
