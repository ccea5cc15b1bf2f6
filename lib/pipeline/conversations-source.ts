// Source kind "Conversations of the service account": every stream of the chosen types that the bot
// can read over REST, from each stream's checkpoint. Symphony decrypts only conversations the service
// account is a member of, so this misses every other conversation of the firm (see README).
import {
  SymphonyError,
  type AdminStream,
  type StreamType,
  type SymphonyClient,
  type SymphonyMessage,
} from "@/lib/symphony";
import { toChatMessage, type Conversation } from "./chat-message";
import {
  SourceContentError,
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
  checkpoints: ReadonlyMap<string, Date>;
}): ArchiveSource {
  const { symphony } = options;
  function unit(stream: AdminStream): SourceUnit {
    return {
      async *batches(signal) {
        const checkpoint = options.checkpoints.get(stream.id);
        const since = Math.max(checkpoint?.getTime() ?? 0, options.startDate?.getTime() ?? 0);
        let conversation: Conversation | undefined;
        for await (const page of symphony.messages(stream.id, since)) {
          signal?.throwIfAborted();
          conversation ??= { stream, members: await symphony.listStreamMembers(stream.id) };
          const last = page.at(-1)!;
          yield {
            messages: page.map((message) => incoming(message, conversation!)),
            checkpoint: {
              kind: "stream",
              streamId: stream.id,
              at: new Date(last.timestamp),
              messageId: last.messageId,
            },
          };
        }
      },
    };
  }

  function incoming(message: SymphonyMessage, conversation: Conversation): IncomingMessage {
    const chat = toChatMessage(message, conversation);
    return {
      kind: "chat",
      chat,
      participants: participantsOf(chat.sender, conversation),
      openAttachment: (ref) =>
        symphony.downloadAttachment(chat.streamId, chat.messageId, ref.id).catch((error: unknown) => {
          if (error instanceof SymphonyError && ["not_found", "bad_request"].includes(error.code)) {
            throw new SourceContentError(
              `attachment "${ref.name}" could not be downloaded from Symphony: ${error.message}`,
              { cause: error },
            );
          }
          throw error;
        }),
    };
  }

  return {
    parallelism: 3,
    async *units() {
      for await (const streams of symphony.listStreams({ streamTypes: options.streamTypes })) yield streams.map(unit);
    },
    close: async () => {},
  };
}

/** Everyone who gets the message: the stream's members, and the sender even when no longer listed. */
function participantsOf(sender: { userId: string; email?: string }, { members }: Conversation): Participant[] {
  const people: Participant[] = members.map((member) => member.user);
  if (!people.some((user) => String(user.userId) === sender.userId)) {
    people.push({ userId: sender.userId, email: sender.email });
  }
  return people;
}
