import { PassThrough, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { buildMime, ConversionUnavailableError, convertMessage, type ChatMessage } from "@/lib/convert";
import type { StagingStore } from "@/lib/staging";
import { recordedMessageIds, recordPage, type CollectedMessage } from "./ledger";
import { mapLimit } from "@/lib/async";
import type { RecipientResolver } from "./recipients";
import { errorMessage } from "@/lib/errors";
import { SourceContentError, type ArchiveSource, type IncomingMessage, type SourceBatch } from "./source";
import { serviceAccountTest, withMappedAddresses, withoutServiceAccount } from "./people";

export type CollectContext = {
  connectorId: string;
  runId: string;
  staging: StagingStore;
  recipientsOf: RecipientResolver;
  /** Messages converted and staged at once, per unit. */
  parallelism: number;
  signal?: AbortSignal;
  onMessages?: (collected: number, bytes: number) => void;
};

type Collecting = CollectContext & { isServiceAccount: ReturnType<typeof serviceAccountTest> };

/**
 * Reads every unit of the source from its checkpoint, converts and stages each new message, and
 * records each batch (messages, ledger rows, checkpoint) in one transaction.
 */
export async function collect(context: CollectContext, source: ArchiveSource): Promise<void> {
  const ctx: Collecting = { ...context, isServiceAccount: serviceAccountTest(await source.serviceAccount()) };
  for await (const units of source.units(ctx.signal)) {
    await mapLimit(units, source.parallelism, async (unit) => {
      for await (const batch of unit.batches(ctx.signal)) {
        ctx.signal?.throwIfAborted();
        await collectBatch(ctx, batch);
      }
    });
  }
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
  const messages = await mapLimit(fresh, ctx.parallelism, (message) => stageMessage(ctx, message));
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

function keyOf(message: IncomingMessage): string {
  return message.kind === "chat" ? message.chat.messageId : message.key;
}

async function stageMessage(ctx: Collecting, incoming: IncomingMessage): Promise<CollectedMessage> {
  const message = withoutServiceAccount(incoming, ctx.isServiceAccount);
  const sender = message.kind === "chat" ? message.chat.sender : message.sender;
  const recorded = {
    messageId: keyOf(message),
    streamId: message.kind === "chat" ? message.chat.streamId : message.streamId,
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
  };
  const recipients = (await ctx.recipientsOf(message.participants)).map((r) => ({
    ...r,
    mailbox: storable(r.mailbox),
    reason: r.reason === null ? null : storable(r.reason),
  }));
  let blobName: string;
  let sizeBytes: number;
  try {
    if (message.kind === "chat" && message.failure) throw new SourceContentError(message.failure);
    ({ blobName, size: sizeBytes } =
      message.kind === "chat"
        ? await stageConverted(ctx, message)
        : await ctx.staging.stage(ctx.connectorId, message.key, await message.open()));
  } catch (error) {
    const failure = messageFailure(error);
    if (!failure) throw error; // staging or the source unavailable: the run stops and is retried
    // The message itself cannot be converted (an attachment the source cannot serve, content the
    // converter rejects): its items are FAILED with the reason, so the run and the checkpoint go on.
    const reason = storable(failure);
    const failed = recipients.map((r) => (r.status === "PENDING" ? { ...r, status: "FAILED" as const, reason } : r));
    return { ...recorded, blobName: "", sizeBytes: 0, recipients: failed };
  }
  return { ...recorded, blobName, sizeBytes, recipients };
}

/**
 * PostgreSQL text cannot hold NUL, which Symphony names and addresses may contain: one such name
 * would fail the transaction of its whole page, again on every retry. It is stored visibly, as \u0000.
 */
function storable(text: string): string {
  return text.includes("\u0000") ? text.replaceAll("\u0000", "\\u0000") : text;
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
  const attachments = chat.attachments.map((ref) => ({ ref, open: () => streamOf(() => message.openAttachment(ref)) }));
  return ctx.staging.stage(ctx.connectorId, chat.messageId, buildMime(email, attachments));
}

/** The reason a message can never be imported, or undefined for an error a retry may cure. */
function messageFailure(error: unknown): string | undefined {
  for (let cause = error; cause instanceof Error; cause = cause.cause) {
    if (cause instanceof SourceContentError) return cause.message;
  }
  return undefined;
}

/** A stream now for a stream later (buildMime opens an attachment when it reaches it). */
function streamOf(open: () => Promise<Readable>): Readable {
  const through = new PassThrough();
  open()
    .then((source) => pipeline(source, through))
    .catch((error: unknown) => through.destroy(error as Error));
  return through;
}
