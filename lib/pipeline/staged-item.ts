import { Readable } from "node:stream";
import { createSemaphore } from "@/lib/async";
import {
  MAX_TEXT_READ_BACK_BYTES,
  readBackContentType,
  readStagedHeaders,
  readStagedMime,
  readStagedMimeWhole,
  textExceeds,
  toGraphMessage,
  withBodyAttached,
  withCopyAttached,
  WHOLE_COPY_FILE,
  type EmailModel,
  type GraphMessage,
  type StagedMessage,
  type WrittenPart,
} from "@/lib/convert";
import type { ImportAttachment, ImportItem } from "@/lib/m365";
import type { StagingStore } from "@/lib/staging";
import { wellFormedJson } from "./well-formed";

/**
 * Bytes of staged MIME read back at once in this process, each weighed by its size up to the text it
 * may hold (MAX_TEXT_READ_BACK_BYTES): mailparser holds a message's text whole, several times over, so
 * the items in flight (64 and more, from every connector) must not all read theirs together.
 */
const READ_BACK_AT_ONCE_BYTES = 3 * MAX_TEXT_READ_BACK_BYTES;
const readBackBytes = createSemaphore(READ_BACK_AT_ONCE_BYTES);

/**
 * A read that takes longer than this (a blob read that hangs, its attempt given up meanwhile) gives its
 * share back anyway, so that one stuck read never holds every connector's read-back in this process.
 */
const READ_BACK_HOLD_MS = 2 * 60_000;

async function readingBack<T>(weight: number, read: () => Promise<T>): Promise<T> {
  await readBackBytes.acquire(weight);
  let held = true;
  const release = () => {
    if (held) readBackBytes.release(weight);
    held = false;
  };
  const timer = setTimeout(release, READ_BACK_HOLD_MS).unref();
  try {
    return await read();
  } finally {
    clearTimeout(timer);
    release();
  }
}

/** Where a SourceMessage's MIME is staged (a row of the ledger, as claimed). */
export type StagedLocation = {
  blobName: string;
  /** Null: the whole blob is the message (a big one, or staged before bundles). */
  blobOffset: bigint | number | null;
  sizeBytes: bigint | number;
  modelBytes: number | null;
};

/**
 * What the import needs of a message, derived once at collect and staged right after its MIME: the
 * Graph JSON and the attachments' names, types and exact sizes, then (after a line break, which JSON
 * never holds) the attachments' contents back to back. The MIME stays the evidence; the model is what
 * the same MIME reads back as (see roundtrip.test.ts), so the import never parses it again. Models
 * staged before the contents were kept end with the JSON: their attachments are read from the MIME.
 */
type StagedModel = { graph: GraphMessage; attachments: Array<{ name: string; contentType?: string; size: number }> };

const CONTENTS_FOLLOW = 0x0a;

/** The idempotency key stored on every created Graph message: one per (connector, Symphony message). */
export function itemKey(connectorId: string, messageId: string): string {
  return `${connectorId}:${messageId}`;
}

/**
 * The model of a message staged as `mime`. From `written`, the email and parts the MIME was written
 * from, when a reader of the MIME gives those parts back as they are (nearly always); else read back
 * from the MIME with the attachments' contents. Undefined when the MIME cannot be read back: the
 * import then parses it and fails the item with the parser's reason, as it would have.
 */
export async function stagedModel(
  mime: Buffer,
  written?: { email: EmailModel; parts: WrittenPart[] },
): Promise<Buffer | undefined> {
  const asWritten = written && modelAsWritten(written.email, written.parts);
  if (asWritten) return asWritten;
  try {
    const whole = await readStagedMimeWhole(mime);
    const large = withBodyAttached(whole.email);
    const staged = large?.email ?? whole.email;
    return modelBytes(
      toGraphMessage(staged),
      staged.attachments.map(({ name, contentType, size }) => ({ name, contentType, size })),
      large ? [large.body, ...whole.contents] : whole.contents,
    );
  } catch {
    return undefined;
  }
}

/** The model of the parts as written, or undefined when a reader would give back another type for one. */
function modelAsWritten(email: EmailModel, parts: WrittenPart[]): Buffer | undefined {
  const attachments: StagedModel["attachments"] = [];
  for (const { name, contentType, content } of parts) {
    const readBack = readBackContentType(contentType);
    if (readBack === undefined) return undefined;
    attachments.push({ name, contentType: readBack, size: content.length });
  }
  return modelBytes(
    toGraphMessage(email),
    attachments,
    parts.map(({ content }) => content),
  );
}

function modelBytes(graph: GraphMessage, attachments: StagedModel["attachments"], contents: Buffer[]): Buffer {
  // Lone surrogates as U+FFFD, as in the MIME: the model is what the MIME reads back as.
  const json = Buffer.from(wellFormedJson({ graph, attachments } satisfies StagedModel));
  return contents.length === 0 ? json : Buffer.concat([json, Buffer.of(CONTENTS_FOLLOW), ...contents]);
}

/** A staged model's JSON, and the attachments' contents when they were staged with it. */
function readModel(bytes: Buffer): { model: StagedModel; contents?: Buffer[] } {
  const end = bytes.indexOf(CONTENTS_FOLLOW);
  const model = JSON.parse(bytes.subarray(0, end === -1 ? bytes.length : end).toString("utf8")) as StagedModel;
  if (end === -1) return { model, contents: model.attachments.length === 0 ? [] : undefined };
  const contents: Buffer[] = [];
  let at = end + 1;
  for (const { size } of model.attachments) {
    contents.push(bytes.subarray(at, at + size));
    at += size;
  }
  if (at !== bytes.length)
    throw new Error(`the staged model's attachments hold ${bytes.length - end - 1} bytes, not ${at - end - 1}`);
  return { model, contents };
}

/** The staged MIME of a message, bundled or in a blob of its own. */
export async function openStagedMime(staging: StagingStore, at: StagedLocation): Promise<Readable> {
  if (at.blobOffset === null) return staging.open(at.blobName);
  const mime = await staging.readRange(at.blobName, Number(at.blobOffset), Number(at.sizeBytes));
  return Readable.from([mime]);
}

/** A key per staged message (its bundle and offset, or its own blob). */
export function stagedKey(at: StagedLocation): string {
  return at.blobOffset === null ? at.blobName : `${at.blobName}@${at.blobOffset}`;
}

/** What lib/m365 imports for a staged message: from its staged model when there is one, else from its MIME. */
export async function importItemFor(staging: StagingStore, key: string, at: StagedLocation): Promise<ImportItem> {
  if (at.blobOffset === null || at.modelBytes === null)
    return stagedImportItem(key, () => openStagedMime(staging, at), Number(at.sizeBytes));
  const modelAt = Number(at.blobOffset) + Number(at.sizeBytes);
  const { model, contents } = readModel(await staging.readRange(at.blobName, modelAt, at.modelBytes));
  const reread = async () => readStagedMime(() => openStagedMime(staging, at));
  return {
    key,
    graph: model.graph,
    attachments: model.attachments.map((ref, index) =>
      importAttachment(ref, async () => {
        const content = contents?.[index];
        return content ? Readable.from([content]) : openAttachment((await reread()).attachments, index);
      }),
    ),
  };
}

/**
 * Rebuilds what lib/m365 imports from the staged MIME: the Graph JSON message and the attachments,
 * each reopened from the blob whenever the writer asks (an upload that starts over reads it again).
 */
export async function stagedImportItem(key: string, open: () => Promise<Readable>, size?: number): Promise<ImportItem> {
  // Text parts larger together than the worker reads back are never parsed: the item is the copy itself.
  if (
    size !== undefined &&
    size > MAX_TEXT_READ_BACK_BYTES &&
    (await textExceeds(await open(), MAX_TEXT_READ_BACK_BYTES))
  ) {
    const email = withCopyAttached(await readStagedHeaders(await open()), size);
    return {
      key,
      graph: { ...toGraphMessage(email) },
      attachments: email.attachments.map((ref) => importAttachment(ref, open)),
      note: `not read back: ${email.notRendered}; the exported message is attached whole as ${WHOLE_COPY_FILE}`,
    };
  }
  const weight = Math.min(size ?? MAX_TEXT_READ_BACK_BYTES, MAX_TEXT_READ_BACK_BYTES);
  const { email, attachments, large } = await readingBack(weight, async () => {
    const { email: read, attachments } = await readStagedMime(open);
    const large = withBodyAttached(read);
    // The body too large to show is not kept while the item waits: it is read back again when sent.
    return { email: large?.email ?? read, attachments, large: large !== undefined };
  });
  const body = () =>
    readingBack(weight, async () => {
      const again = withBodyAttached((await readStagedMime(open)).email);
      if (!again) throw new Error("the staged message has changed since it was first read");
      return Readable.from([again.body]);
    });
  return {
    key,
    graph: { ...toGraphMessage(email) },
    attachments: email.attachments.map((ref, index) =>
      // A body too large to show comes first (withBodyAttached), then the MIME's own attachments.
      importAttachment(ref, () =>
        large && index === 0 ? body() : openAttachment(attachments, large ? index - 1 : index),
      ),
    ),
  };
}

/** A staged attachment as lib/m365 imports it, its bytes opened again whenever the writer asks. */
function importAttachment(
  ref: { name: string; contentType?: string | null; size: number },
  open: () => Promise<Readable>,
): ImportAttachment {
  return {
    name: ref.name,
    contentType: ref.contentType ?? "application/octet-stream",
    size: ref.size,
    isInline: false,
    open,
  };
}

/** The content of the index-th attachment; the parse is closed once that content has been read. */
async function openAttachment(attachments: StagedMessage["attachments"], index: number): Promise<Readable> {
  const parts = attachments();
  for (let i = 0; ; i++) {
    const next = await parts.next();
    if (next.done) throw new Error(`the staged message has no attachment number ${index + 1}`);
    if (i < index) {
      for await (const _ of next.value.content);
      continue;
    }
    const { content } = next.value;
    content.once("close", () => void parts.return(undefined));
    return content;
  }
}
