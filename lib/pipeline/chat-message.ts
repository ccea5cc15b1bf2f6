import type { ChatMessage, Person, SharedPost } from "@/lib/convert";
import type { StreamType } from "@/lib/stream-types";
import type { AdminStream, SharedMessage, StreamMember, SymphonyMessage } from "@/lib/symphony";

/** A stream of a type the connector archives. */
export type ArchivedStream = AdminStream & { type: StreamType };

/** A message as the collector sees it: its stream and the members who were in it at the message's time. */
export type Conversation = {
  stream: Pick<ArchivedStream, "id" | "type"> & { attributes: { roomName?: string | null } };
  members: StreamMember[];
};

type SymphonyPerson = {
  userId?: number | null;
  email?: string | null;
  firstName?: string | null;
  lastName?: string | null;
  displayName?: string | null;
};

export function toPerson(user: SymphonyPerson): Person {
  const userId = user.userId === null || user.userId === undefined ? "unknown" : String(user.userId);
  const name = user.displayName || [user.firstName, user.lastName].filter(Boolean).join(" ");
  return { userId, email: user.email || undefined, displayName: name || user.email || userId };
}

/**
 * The members present at `time`: Symphony's membership list has the current members with the time each
 * joined, so someone who joined later does not receive earlier messages. People who left are not in
 * it at all: this path cannot give them the messages of their time (Content Export can).
 */
export function membersAt(members: StreamMember[], time: number): StreamMember[] {
  return members.filter(
    (member) => member.joinDate === null || member.joinDate === undefined || member.joinDate <= time,
  );
}

/**
 * The post a message shares: shown below it, its files named (they belong to the original post). One
 * Symphony could not decrypt, or sent in a shape the connector cannot read, is kept as sent, with why.
 */
function toSharedPost(shared: SharedMessage): SharedPost {
  const unreadable = shared.unreadable
    ? `Symphony sent it in a form the connector cannot read (${shared.unreadable})`
    : shared.diagnostic && !shared.message
      ? `Symphony could not read it: ${shared.diagnostic}`
      : undefined;
  const post = {
    messageId: shared.messageId || undefined,
    sender: toPerson(shared.user ?? {}),
    timestamp: shared.timestamp ? new Date(shared.timestamp) : undefined,
  };
  if (unreadable) return { ...post, presentationML: shared.raw ?? "", files: [], unreadable };
  return {
    ...post,
    presentationML: shared.message ?? "",
    data: shared.data || undefined,
    files: (shared.attachments ?? []).map(({ name, size }) => ({
      name: name || "attachment",
      size: size ?? undefined,
    })),
  };
}

/**
 * Symphony's v4 message -> the converter's model. `known` carries the key and time the collector settled
 * on (every V4Message field is optional); participants are the members present at the message's time.
 */
export function toChatMessage(
  message: SymphonyMessage,
  { stream, members }: Conversation,
  known: { messageId: string; timestamp: number; timeFrom?: string },
): ChatMessage {
  const timeNote =
    message.timestamp === null || message.timestamp === undefined
      ? `Symphony sent this message without its time: it is archived at ${new Date(known.timestamp).toISOString()}, ${known.timeFrom ?? "a time the connector chose"}.`
      : undefined;
  return {
    messageId: known.messageId,
    streamId: stream.id,
    streamType: stream.type,
    conversationName: stream.attributes.roomName || undefined,
    timestamp: new Date(known.timestamp),
    sender: toPerson(message.user ?? {}),
    participants: members.map((member) => toPerson(member.user)),
    presentationML: message.message ?? "",
    data: message.data || undefined,
    attachments: (message.attachments ?? []).map(({ id, name, size }) => ({ id, name, size })),
    parentMessageId: message.parentMessageId || undefined,
    initialMessageId: message.initialMessageId || undefined,
    initialTimestamp: message.initialTimestamp ? new Date(message.initialTimestamp) : undefined,
    shared: message.sharedMessage ? toSharedPost(message.sharedMessage) : undefined,
    ...(timeNote && { timeNote }),
  };
}
