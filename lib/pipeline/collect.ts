import { Readable } from "node:stream";
import {
  buildMime,
  bufferedMime,
  ConversionUnavailableError,
  convertMessage,
  type ChatMessage,
  type EmailModel,
  type WrittenPart,
} from "@/lib/convert";
import { peek, type StagingStore } from "@/lib/staging";
import { createBundler, type BundledAt, type Bundler } from "./bundle";
import { readAttachments } from "./attachment-contents";
import { stagedModel } from "./staged-item";
import { recordedMessageIds, recordPage, storable, storableKey, type CollectedMessage } from "./ledger";
import { forEachLimit, mapLimit } from "@/lib/async";
import type { Recipient, RecipientResolver } from "./recipients";
import { errorMessage } from "@/lib/errors";
import {
  AttachmentUnavailableError,
  SourceContentError,
  type ArchiveSource,
  type IncomingMessage,
  type SourceBatch,
} from "./source";
import { serviceAccountTest, withMappedAddresses, withoutServiceAccount } from "./people";

export type CollectContext = {
  connectorId: string;
  runId: string;
  staging: StagingStore;
  recipientsOf: RecipientResolver;
  /** Messages converted and staged at once, per unit. */
  parallelism: number;
  /** Ledger rows one transaction records at most (default MAX_ITEMS_PER_RECORD). */
  maxItemsPerRecord?: number;
  signal?: AbortSignal;
  onMessages?: (collected: number, bytes: number) => void;
};

type Collecting = CollectContext & { isServiceAccount: ReturnType<typeof serviceAccountTest>; bundler: Bundler };

/** A message whose MIME is at most this big goes into its batch's bundle; a bigger one is a blob of its own. */
const BUNDLED_MESSAGE_MAX_BYTES = 1024 * 1024;

/** Where a message's MIME was staged, or the bundle entry still waiting to be stored. */
type Staged = Pick<CollectedMessage, "blobName" | "blobOffset" | "sizeBytes" | "modelBytes">;
type StagedMessage = Omit<CollectedMessage, "blobName" | "blobOffset"> &
  ({ bundled: Promise<BundledAt> } | { bundled?: undefined; blobName: string; blobOffset: number | null });

/**
 * Reads every unit of the source from its checkpoint, converts and stages each new message, and
 * records each batch (messages, ledger rows, checkpoint) in one transaction.
 */
export async function collect(context: CollectContext, source: ArchiveSource): Promise<void> {
  const ctx: Collecting = {
    ...context,
    isServiceAccount: serviceAccountTest(await source.serviceAccount()),
    bundler: createBundler(context.staging, context.connectorId),
  };
  // A unit starts as soon as a lane is free, whichever page of the list it is on: one long
  // conversation keeps only its own lane busy, not the units listed after it.
  await forEachLimit(source.units(ctx.signal), source.parallelism, (unit) =>
    ctx.bundler.producer(async () => {
      for await (const batch of unit.batches(ctx.signal)) {
        for (const part of byItems(batch, ctx.maxItemsPerRecord)) {
          ctx.signal?.throwIfAborted();
          await collectBatch(ctx, part);
        }
      }
    }),
  );
}

/**
 * Ledger rows (messages × recipients) one transaction records at most. A page of 500 messages in a
 * room of 10,000 members would otherwise hold 5 million rows in the worker's memory at once.
 */
export const MAX_ITEMS_PER_RECORD = 20_000;

/**
 * A source's batch in parts of at most MAX_ITEMS_PER_RECORD recipients (a message with more is a part
 * of its own). Only the last part moves a conversation's checkpoint: a run that stops between parts
 * reads the page again, and what its earlier parts recorded is skipped by its keys. An export file's
 * parts each link their own messages to the file.
 */
export function byItems(batch: SourceBatch, maxItems = MAX_ITEMS_PER_RECORD): SourceBatch[] {
  const parts: IncomingMessage[][] = [[]];
  let items = 0;
  for (const message of batch.messages) {
    const recipients = Math.max(1, message.participants.length);
    if (items + recipients > maxItems && parts.at(-1)!.length > 0) {
      parts.push([]);
      items = 0;
    }
    parts.at(-1)!.push(message);
    items += recipients;
  }
  return parts.map((messages, i) => ({
    messages,
    checkpoint: i === parts.length - 1 || batch.checkpoint.kind === "export-file" ? batch.checkpoint : { kind: "feed" },
  }));
}

async function collectBatch(ctx: Collecting, batch: SourceBatch): Promise<void> {
  const keys = batch.messages.map(keyOf);
  const recorded = await recordedMessageIds(ctx.connectorId, keys);
  const seen = new Set<string>();
  const fresh = batch.messages.filter((message) => {
    const key = keyOf(message);
    if (recorded.has(key) || seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  const staged = await mapLimit(fresh, ctx.parallelism, (message) => stageMessage(ctx, message));
  // The batch is recorded only once the bundle holding its messages is stored.
  const bundled = await ctx.bundler.settle(staged.flatMap((message) => (message.bundled ? [message.bundled] : [])));
  let next = 0;
  const messages = staged.map(({ bundled: entry, ...message }): CollectedMessage => {
    if (!entry) return message as CollectedMessage;
    const { blobName, offset } = bundled[next++]!;
    return { ...message, blobName, blobOffset: offset };
  });
  const added = await recordPage({
    connectorId: ctx.connectorId,
    runId: ctx.runId,
    messages,
    keys,
    checkpoint: batch.checkpoint,
  });
  if (added > 0)
    ctx.onMessages?.(
      added,
      messages.reduce((sum, message) => sum + message.sizeBytes, 0),
    );
}

/** The message's key as the ledger keeps it (storableKey): the same for every read of the message. */
function keyOf(message: IncomingMessage): string {
  return storableKey(message.kind === "chat" ? message.chat.messageId : message.key);
}

async function stageMessage(ctx: Collecting, incoming: IncomingMessage): Promise<StagedMessage> {
  const message = withoutServiceAccount(incoming, ctx.isServiceAccount);
  const sender = message.kind === "chat" ? message.chat.sender : message.sender;
  // Symphony sent no time: the ledger says which time the item is archived at, as the item does.
  const timeNote = message.kind === "chat" ? message.chat.timeNote : undefined;
  const recorded = {
    messageId: keyOf(message),
    streamId: storableKey(message.kind === "chat" ? message.chat.streamId : message.streamId),
    streamType: message.kind === "chat" ? message.chat.streamType : message.streamType,
    sentAt: message.kind === "chat" ? message.chat.timestamp : message.sentAt,
    senderUserId: storable(sender.userId),
    senderEmail: sender.email ? storable(sender.email.toLowerCase()) : null,
    senderName: sender.displayName ? storable(sender.displayName) : null,
    participants: [
      ...new Set(
        message.participants.flatMap((person) => (person.email ? [storable(person.email.toLowerCase())] : [])),
      ),
    ],
    attachmentNames: message.kind === "chat" ? message.chat.attachments.map((ref) => storable(ref.name)) : [],
    attachedTo: message.kind === "chat" && message.attachedTo ? storableKey(message.attachedTo) : null,
    note: timeNote ? storable(timeNote) : null,
  };
  const recipients = (await ctx.recipientsOf(message.participants)).map((r) => ({
    ...r,
    mailbox: storableKey(r.mailbox),
    reason: r.reason === null ? null : storable(r.reason),
  }));
  const pendingAs = (status: "SKIPPED" | "FAILED" | "PENDING", reason: string) =>
    recipients.map((r) => (r.status === "PENDING" ? { ...r, status, reason: storable(reason) } : r));
  const unstaged = { blobName: "", blobOffset: null, sizeBytes: 0, modelBytes: null };
  if (message.kind === "chat" && message.attachedTo) {
    const reason = `its file was imported attached to message ${message.attachedTo}, captured in real time`;
    return { ...recorded, ...unstaged, recipients: pendingAs("SKIPPED", reason) };
  }
  let staged: Staged | ({ bundled: Promise<BundledAt> } & Omit<Staged, "blobName" | "blobOffset">);
  try {
    if (message.kind === "chat" && message.failure) throw new SourceContentError(message.failure);
    staged =
      message.kind === "chat"
        ? await stageConverted(ctx, message)
        : await stageMime(ctx, message.key, await message.open());
  } catch (error) {
    const failure = messageFailure(error);
    if (!failure) throw error; // staging or the source unavailable: the run stops and is retried
    if (message.kind === "chat" && message.filesElsewhere && isUnavailableAttachment(error)) {
      // Imported without its files, which come with the export (as records of their own).
      const without = { ...message, chat: { ...message.chat, attachments: [] } };
      const note = [`${failure}; imported without its files: ${message.filesElsewhere}`, timeNote]
        .filter(Boolean)
        .join("; ");
      return {
        ...recorded,
        attachmentNames: [],
        note: storable(note),
        ...(await stageConverted(ctx, without)),
        recipients: pendingAs("PENDING", note),
      };
    }
    // The message itself cannot be converted (an attachment the source cannot serve, content the
    // converter rejects): its items are FAILED with the reason, so the run and the checkpoint go on.
    return { ...recorded, ...unstaged, recipients: pendingAs("FAILED", failure) };
  }
  return { ...recorded, ...staged, recipients: timeNote ? noted(recipients, storable(timeNote)) : recipients };
}

/** The rows to import, with `note` added to their reason. */
function noted(recipients: Recipient[], note: string): Recipient[] {
  return recipients.map((r) =>
    r.status === "PENDING" ? { ...r, reason: r.reason ? `${r.reason}; ${note}` : note } : r,
  );
}

/**
 * Stages one message's MIME: a small one (nearly all) as an entry of the open bundle, with its Graph
 * model after it so that the import does not parse the MIME again; a big one as a blob of its own.
 * `written` is the email and parts the MIME was written from, when it was written at once.
 */
async function stageMime(
  ctx: Collecting,
  messageId: string,
  mime: Readable | Buffer,
  written?: { email: EmailModel; parts: WrittenPart[] },
) {
  let head: Buffer;
  if (Buffer.isBuffer(mime) && mime.length <= BUNDLED_MESSAGE_MAX_BYTES) {
    head = mime;
  } else {
    const stream = Buffer.isBuffer(mime) ? Readable.from([mime]) : mime;
    const peeked = await peek(stream, BUNDLED_MESSAGE_MAX_BYTES);
    if (!peeked.ended) {
      try {
        const { blobName, size } = await ctx.staging.stage(ctx.connectorId, messageId, peeked.rest);
        return { blobName, blobOffset: null, sizeBytes: size, modelBytes: null };
      } finally {
        stream.destroy();
      }
    }
    head = peeked.head;
  }
  const model = await stagedModel(head, written);
  return { bundled: ctx.bundler.add({ mime: head, model }), sizeBytes: head.length, modelBytes: model?.length ?? null };
}

async function stageConverted(ctx: Collecting, message: Extract<IncomingMessage, { kind: "chat" }>) {
  // Mapped people appear under their Microsoft 365 address (a search by the mailbox finds the item).
  const chat: ChatMessage = withMappedAddresses(message.chat, await ctx.recipientsOf.addresses(message.participants));
  let email;
  try {
    // In a conversion thread: a message that exhausts its memory or time fails only itself (it is
    // then imported with its original content attached), never this process.
    email = await convertMessage(chat);
  } catch (error) {
    if (error instanceof ConversionUnavailableError) throw error;
    throw new SourceContentError(`the message could not be converted: ${errorMessage(error)}`, { cause: error });
  }
  const read = await readAttachments(chat.attachments, (ref) => message.openAttachment(ref));
  if ("sources" in read) return stageMime(ctx, chat.messageId, buildMime(email, read.sources));
  const { mime, parts } = bufferedMime(email, read.contents);
  return stageMime(ctx, chat.messageId, mime, { email, parts });
}

function isUnavailableAttachment(error: unknown): boolean {
  for (let cause = error; cause instanceof Error; cause = cause.cause) {
    if (cause instanceof AttachmentUnavailableError) return true;
  }
  return false;
}

/** The reason a message can never be imported, or undefined for an error a retry may cure. */
function messageFailure(error: unknown): string | undefined {
  for (let cause = error; cause instanceof Error; cause = cause.cause) {
    if (cause instanceof SourceContentError) return cause.message;
  }
  return undefined;
}
