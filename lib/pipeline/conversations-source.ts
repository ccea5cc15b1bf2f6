// Source kind "Conversations of the service account": every stream of the chosen types that the bot
// can read over REST, from each stream's checkpoint. Symphony decrypts only conversations the service
// account is a member of, so this misses every other conversation of the firm (see README).
import { createHash } from "node:crypto";
import type { ChatMessage } from "@/lib/convert";
import { streamTypeSchema } from "@/lib/stream-types";
import {
  ResponseTooLargeError,
  SymphonyError,
  type AdminStream,
  type StreamMember,
  type StreamType,
  type SymphonyClient,
  type SymphonyMessage,
} from "@/lib/symphony";
import { membersAt, toChatMessage, type ArchivedStream, type Conversation } from "./chat-message";
import { NOT_A_MEMBER, type CoverageSink, type CoveredStream } from "./coverage";
import { storableKey } from "./ledger";
import { withStreamErrors } from "./stream-errors";
import {
  AttachmentUnavailableError,
  type ArchiveSource,
  type IncomingMessage,
  type Participant,
  type SourceUnit,
} from "./source";

export function conversationsSource(options: {
  symphony: SymphonyClient;
  streamTypes: StreamType[];
  /** Messages before this time are not collected (the connector's start date). */
  startDate: Date | null;
  /** By stream id as the ledger keeps it (storableKey). */
  checkpoints: ReadonlyMap<string, Date>;
  coverage: CoverageSink;
}): ArchiveSource {
  const { symphony, coverage } = options;
  const sinceOf = (stream: AdminStream) =>
    Math.max(options.checkpoints.get(storableKey(stream.id))?.getTime() ?? 0, options.startDate?.getTime() ?? 0);

  function unit(stream: ArchivedStream): SourceUnit {
    return {
      async *batches(signal) {
        const since = sinceOf(stream);
        const checkpoint = options.checkpoints.get(storableKey(stream.id))?.getTime();
        // A message stamped after the read began (a pod node whose clock runs ahead) must not move the
        // checkpoint past messages stamped before it but sent later: those would never be read. The
        // checkpoint stops at the read's start; the next run reads that message again, and skips it.
        const readStartedAt = Date.now();
        let members: StreamMember[] | undefined;
        /** Messages newer than the checkpoint (the checkpoint's own millisecond is read again). */
        let read = 0;
        let lastTime = since;
        /** Whether `lastTime` is a message's (else the time this read starts from). */
        let timed = false;
        try {
          for await (const page of symphony.messages(stream.id, since)) {
            signal?.throwIfAborted();
            members ??= await membersOf(stream);
            const messages = page.map((message) => {
              const timeFrom = timed
                ? "the time of the message before it"
                : "the time this read of the conversation starts from";
              timed ||= message.timestamp !== null && message.timestamp !== undefined;
              lastTime = message.timestamp ?? lastTime;
              if (checkpoint === undefined || lastTime > checkpoint) read += 1;
              return incoming(message, stream, members!, lastTime, timeFrom);
            });
            const last = messages.at(-1)!;
            yield {
              messages,
              checkpoint: {
                kind: "stream",
                streamId: stream.id,
                at: new Date(Math.min(lastTime, readStartedAt)),
                messageId: last.kind === "chat" ? last.chat.messageId : last.key,
              },
            };
          }
        } catch (error) {
          const reason = refusalOf(error);
          if (reason === undefined) throw error;
          // One stream Symphony will not serve is recorded against that stream; the run goes on.
          coverage.refused(covered(stream), reason);
          return;
        }
        coverage.read(covered(stream), read);
      },
    };
  }

  /**
   * A conversation's members. Symphony lists them for IM, MIM and ROOM streams ("The stream can be of
   * type IM, MIM, or ROOM"): a wall whose list is refused has none, and its posts reach their author.
   */
  async function membersOf(stream: ArchivedStream): Promise<StreamMember[]> {
    if (stream.type !== "POST") return symphony.listStreamMembers(stream.id);
    return symphony.listStreamMembers(stream.id).catch((error: unknown) => {
      if (refusalOf(error) !== undefined) return [];
      throw error;
    });
  }

  function incoming(
    message: SymphonyMessage,
    stream: ArchivedStream,
    members: StreamMember[],
    time: number,
    /** Which time `time` is, when the message came without one. */
    timeFrom: string,
  ): IncomingMessage {
    // A message too large to read says nothing of when it was sent: every member listed gets its failure.
    const present = message.tooLarge ? members : membersAt(members, time);
    const conversation: Conversation = { stream, members: present };
    const messageId =
      message.messageId || keyOf(stream.id, message.tooLarge ? { tooLarge: message.tooLarge } : message);
    const chat = toChatMessage(message, conversation, { messageId, timestamp: time, timeFrom });
    return chatIncoming(symphony, message, chat, present);
  }

  return {
    parallelism: 6,
    async *units() {
      // The bot's own id tells, from the list alone, which IMs, group chats and walls it is not in.
      const me = await symphony.sessionInfo();
      for await (const streams of symphony.listStreams({ streamTypes: options.streamTypes })) {
        coverage.listed(streams.length);
        const units: SourceUnit[] = [];
        for (const stream of streams) {
          if (stream.invalid) {
            coverage.refused(covered(stream), stream.invalid);
            continue;
          }
          // The client lists the kinds asked for (a group chat may be a ROOM); a type nobody knows is skipped.
          const type = streamTypeSchema.safeParse(stream.type);
          if (!type.success) {
            coverage.otherType(covered(stream));
            continue;
          }
          const known: ArchivedStream = { ...stream, type: type.data };
          // Nothing newer than the checkpoint (or the start date): not read again.
          const lastMessage = stream.attributes.lastMessageDate;
          if (lastMessage !== null && lastMessage !== undefined && lastMessage <= sinceOf(stream)) continue;
          // The list names the members of IMs and group chats (and a wall's owner); rooms answer 403.
          const members = stream.attributes.members;
          if (members && !members.includes(me.id)) {
            coverage.refused(covered(stream), NOT_A_MEMBER);
            continue;
          }
          units.push(unit(known));
        }
        if (units.length > 0) yield units;
      }
    },
    async serviceAccount() {
      const me = await symphony.sessionInfo();
      return { userId: String(me.id), email: me.emailAddress ?? undefined };
    },
    close: () => coverage.flush(),
  };
}

function covered(stream: AdminStream): CoveredStream {
  return { id: stream.id, type: stream.type, name: stream.attributes.roomName ?? null };
}

/** The coverage list's reason for a stream Symphony will not serve, or undefined for an error a retry may cure. */
function refusalOf(error: unknown): string | undefined {
  // Not a page of messages (SymphonyClient.messages asks for them one at a time, and a message alone
  // too large fails alone): a member list, say.
  if (error instanceof ResponseTooLargeError) return `Symphony's answer is too large to read (${error.message})`;
  if (!(error instanceof SymphonyError)) return undefined;
  switch (error.code) {
    case "forbidden":
      return error.endpoint.includes("/message")
        ? `${NOT_A_MEMBER} (HTTP 403)`
        : `Symphony refused ${error.endpoint} for this conversation (HTTP 403)`;
    case "not_found":
      return `Symphony does not know this conversation any more (HTTP 404 from ${error.endpoint})`;
    case "bad_request":
      return `Symphony refused the request for this conversation (HTTP 400 from ${error.endpoint})`;
    default:
      return undefined;
  }
}

/**
 * A Symphony message as collect takes it: its recipients (the members present and the sender), why it
 * cannot be imported when it cannot, and how its files are downloaded.
 */
export function chatIncoming(
  symphony: SymphonyClient,
  message: SymphonyMessage,
  chat: ChatMessage,
  present: StreamMember[],
): Extract<IncomingMessage, { kind: "chat" }> {
  const failure = unreadable(message);
  return {
    kind: "chat",
    chat,
    participants: participantsOf(chat.sender, present),
    ...(failure ? { failure } : {}),
    openAttachment: attachmentOpener(symphony, chat),
  };
}

/**
 * Downloads a message's attachment; one Symphony will not serve, or serves as something other than
 * base64, fails only its message (an interrupted download is retried with the run).
 */
function attachmentOpener(symphony: SymphonyClient, chat: { streamId: string; messageId: string }) {
  return async (ref: { id: string; name: string }) => {
    const unavailable = (error: unknown) =>
      error instanceof SymphonyError &&
      ["not_found", "bad_request", "forbidden", "invalid_response"].includes(error.code)
        ? new AttachmentUnavailableError(
            `attachment "${ref.name}" could not be downloaded from Symphony: ${error.message}`,
            { cause: error },
          )
        : (error as Error);
    const body = await symphony.downloadAttachment(chat.streamId, chat.messageId, ref.id).catch((error: unknown) => {
      throw unavailable(error);
    });
    return withStreamErrors(body, unavailable);
  };
}

/**
 * Why a message cannot be imported: the agent could not read it (its diagnostic, as Symphony wrote it),
 * or it came without content.
 */
export function unreadable(message: SymphonyMessage): string | undefined {
  if (message.invalid) return message.invalid;
  if (message.diagnostic) return `Symphony could not read this message: ${message.diagnostic.slice(0, 1000)}`;
  if (message.message === null || message.message === undefined) return "Symphony sent this message without content";
  return undefined;
}

/** A stable key for a message Symphony sent without an id (one too large to read: by where it is). */
function keyOf(streamId: string, message: SymphonyMessage): string {
  return `rest-${createHash("sha256")
    .update(JSON.stringify([streamId, message]))
    .digest("hex")}`;
}

/** Everyone who gets the message: the members present at its time, and the sender even when not listed. */
function participantsOf(sender: { userId: string; email?: string }, present: StreamMember[]): Participant[] {
  const people: Participant[] = present.map((member) => member.user);
  if (sender.userId !== "unknown" && !people.some((user) => String(user.userId) === sender.userId)) {
    people.push({ userId: sender.userId, email: sender.email });
  }
  return people;
}
