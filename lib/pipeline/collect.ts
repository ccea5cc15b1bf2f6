import { PassThrough, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { buildMime, ConversionUnavailableError, convertMessage, type ChatMessage } from "@/lib/convert";
import type { StagingStore } from "@/lib/staging";
import {
  SymphonyError,
  type AdminStream,
  type StreamType,
  type SymphonyClient,
  type SymphonyMessage,
} from "@/lib/symphony";
import { toChatMessage, type Conversation } from "./chat-message";
import { recordedMessageIds, recordPage, type CollectedMessage } from "./ledger";
import { mapLimit } from "@/lib/async";
import type { RecipientResolver } from "./recipients";
import { errorMessage } from "@/lib/errors";

export type CollectContext = {
  connectorId: string;
  runId: string;
  streamTypes: StreamType[];
  /** Messages before this time are not collected (the connector's start date). */
  startDate: Date | null;
  symphony: SymphonyClient;
  staging: StagingStore;
  recipientsOf: RecipientResolver;
  /** Messages converted and staged at once, per stream. */
  parallelism: number;
  /** Streams collected at once (each keeps its own checkpoint and one transaction per page). */
  streamParallelism: number;
  signal?: AbortSignal;
  onMessages?: (collected: number, bytes: number) => void;
};

/**
 * Reads every stream of the chosen types from its checkpoint, converts and stages each new message,
 * and records each page (messages, ledger rows, checkpoint) in one transaction.
 */
export async function collect(ctx: CollectContext, checkpoints: ReadonlyMap<string, Date>): Promise<void> {
  for await (const streams of ctx.symphony.listStreams({ streamTypes: ctx.streamTypes })) {
    await mapLimit(streams, ctx.streamParallelism, async (stream) => {
      ctx.signal?.throwIfAborted();
      await collectStream(ctx, stream, checkpoints.get(stream.id));
    });
  }
}

async function collectStream(ctx: CollectContext, stream: AdminStream, checkpoint: Date | undefined): Promise<void> {
  const since = Math.max(checkpoint?.getTime() ?? 0, ctx.startDate?.getTime() ?? 0);
  let conversation: Conversation | undefined;
  for await (const page of ctx.symphony.messages(stream.id, since)) {
    ctx.signal?.throwIfAborted();
    conversation ??= { stream, members: await ctx.symphony.listStreamMembers(stream.id) };
    const recorded = await recordedMessageIds(
      ctx.connectorId,
      page.map((message) => message.messageId),
    );
    const fresh = page.filter((message) => !recorded.has(message.messageId));
    const messages = await mapLimit(fresh, ctx.parallelism, (message) => stageMessage(ctx, message, conversation!));
    const last = page.at(-1)!;
    const added = await recordPage({
      connectorId: ctx.connectorId,
      runId: ctx.runId,
      streamId: stream.id,
      streamType: stream.type,
      messages,
      checkpoint: { at: new Date(last.timestamp), messageId: last.messageId },
    });
    if (added > 0)
      ctx.onMessages?.(
        added,
        messages.reduce((sum, message) => sum + message.sizeBytes, 0),
      );
  }
}

async function stageMessage(
  ctx: CollectContext,
  message: SymphonyMessage,
  conversation: Conversation,
): Promise<CollectedMessage> {
  const chat = toChatMessage(message, conversation);
  const participants = participantsOf(chat, conversation);
  const recorded = {
    messageId: chat.messageId,
    sentAt: chat.timestamp,
    senderUserId: storable(chat.sender.userId),
    senderEmail: chat.sender.email ? storable(chat.sender.email.toLowerCase()) : null,
    senderName: chat.sender.displayName ? storable(chat.sender.displayName) : null,
    participants: [
      ...new Set(participants.flatMap((person) => (person.email ? [storable(person.email.toLowerCase())] : []))),
    ],
  };
  const recipients = (await ctx.recipientsOf(participants)).map((r) => ({
    ...r,
    mailbox: storable(r.mailbox),
    reason: r.reason === null ? null : storable(r.reason),
  }));
  let blobName: string;
  let sizeBytes: number;
  try {
    ({ blobName, size: sizeBytes } = await stageConverted(ctx, chat));
  } catch (error) {
    const failure = messageFailure(error);
    if (!failure) throw error; // staging or Symphony unavailable: the run stops and is retried
    // The message itself cannot be converted (an attachment Symphony cannot serve, content the
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

class MessageContentError extends Error {
  override name = "MessageContentError";
}

async function stageConverted(ctx: CollectContext, chat: ChatMessage) {
  let email;
  try {
    // In a conversion thread: a message that exhausts its memory or time fails only itself (it is
    // then imported with its original content attached), never this process.
    email = await convertMessage(chat);
  } catch (error) {
    if (error instanceof ConversionUnavailableError) throw error;
    throw new MessageContentError(`the message could not be converted: ${errorMessage(error)}`, { cause: error });
  }
  const attachments = chat.attachments.map((ref) => ({
    ref,
    open: () =>
      streamOf(() =>
        ctx.symphony.downloadAttachment(chat.streamId, chat.messageId, ref.id).catch((error: unknown) => {
          if (error instanceof SymphonyError && ["not_found", "bad_request"].includes(error.code)) {
            throw new MessageContentError(
              `attachment "${ref.name}" could not be downloaded from Symphony: ${error.message}`,
              { cause: error },
            );
          }
          throw error;
        }),
      ),
  }));
  return ctx.staging.stage(ctx.connectorId, chat.messageId, buildMime(email, attachments));
}

/** The reason a message can never be imported, or undefined for an error a retry may cure. */
function messageFailure(error: unknown): string | undefined {
  for (let cause = error; cause instanceof Error; cause = cause.cause) {
    if (cause instanceof MessageContentError) return cause.message;
  }
  return undefined;
}

type Participant = Parameters<RecipientResolver>[0][number];

/** Everyone who gets the message: the stream's members, and the sender even when no longer listed. */
function participantsOf(chat: ChatMessage, { members }: Conversation): Participant[] {
  const people: Participant[] = members.map((member) => member.user);
  if (!people.some((user) => String(user.userId) === chat.sender.userId)) {
    people.push({ userId: Number(chat.sender.userId), email: chat.sender.email });
  }
  return people;
}

/** A stream now for a stream later (buildMime opens an attachment when it reaches it). */
function streamOf(open: () => Promise<Readable>): Readable {
  const through = new PassThrough();
  open()
    .then((source) => pipeline(source, through))
    .catch((error: unknown) => through.destroy(error as Error));
  return through;
}
