import type { ChatMessage, Person } from "@/lib/convert";
import type { AdminStream, StreamMember, SymphonyMessage } from "@/lib/symphony";

/** A conversation as the collector sees it: the stream and everyone who was ever in it. */
export type Conversation = { stream: AdminStream; members: StreamMember[] };

type SymphonyPerson = Pick<StreamMember["user"], "userId" | "email" | "firstName" | "lastName" | "displayName">;

export function toPerson(user: SymphonyPerson): Person {
  const name = user.displayName || [user.firstName, user.lastName].filter(Boolean).join(" ");
  return {
    userId: String(user.userId),
    email: user.email || undefined,
    displayName: name || user.email || String(user.userId),
  };
}

/** Symphony's v4 message -> the converter's model; participants come from the stream's membership. */
export function toChatMessage(message: SymphonyMessage, { stream, members }: Conversation): ChatMessage {
  return {
    messageId: message.messageId,
    streamId: stream.id,
    streamType: stream.type,
    conversationName: stream.attributes.roomName || undefined,
    timestamp: new Date(message.timestamp),
    sender: toPerson(message.user),
    participants: members.map((member) => toPerson(member.user)),
    presentationML: message.message,
    data: message.data || undefined,
    attachments: (message.attachments ?? []).map(({ id, name, size }) => ({ id, name, size })),
    parentMessageId: message.parentMessageId || undefined,
    initialMessageId: message.initialMessageId || undefined,
    initialTimestamp: message.initialTimestamp ? new Date(message.initialTimestamp) : undefined,
  };
}
