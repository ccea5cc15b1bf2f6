// Messages in Symphony's V4Message shape. Generated message i of a stream is derived from
// (seed, stream, i) on demand; messages added while running are kept in a small per-stream list
// and continue the stream's numbering.
import { createHash } from "node:crypto";
import {
  hashParts,
  itemAt,
  messageTimestamp,
  personById,
  seededRandom,
  type Org,
  type OrgStream,
  type Person,
} from "../org";
import { LARGE_FILES, attachmentId, smallAttachment, type AttachmentInfo } from "./attachments";
import { CONTENT_KINDS, escapeHtml, messageBody, presentationMl, type Body, type ContentKind } from "./content";

export type V4User = {
  userId: number;
  firstName: string;
  lastName: string;
  displayName: string;
  email: string;
  username: string;
};

export type V4Message = {
  messageId: string;
  timestamp: number;
  message: string;
  data: string;
  attachments: AttachmentInfo[];
  user: V4User;
  stream: { streamId: string; streamType: OrgStream["type"]; roomName?: string; external: boolean };
  externalRecipients: boolean;
  userAgent: string;
  originalFormat: string;
  sid: string;
  parentMessageId?: string;
  initialTimestamp?: number;
  initialMessageId?: string;
  /** Set on a message the agent could not decrypt or parse (agent-api-public.yaml V4Message.diagnostic). */
  diagnostic?: string;
  /**
   * The wall post this post shares (V4Message.sharedMessage; V4SharedPost's "original wall post that
   * is being shared", Symphony's real-time events page).
   */
  sharedMessage?: V4Message;
};

/**
 * What the agent sends for a message: a message it could not read carries `diagnostic` instead of
 * its content (which fields remain is not documented; here ids, time, sender and stream).
 */
export function onTheWire(message: V4Message) {
  if (message.diagnostic === undefined) return message;
  const { messageId, timestamp, user, stream, diagnostic } = message;
  return { messageId, timestamp, user, stream, diagnostic };
}

/** Messages added through the admin API, per stream id, oldest first. */
export type AddedMessages = Map<string, V4Message[]>;

const ID_HASH_BYTES = 19;

/**
 * 19 seeded bytes then the index (6 bytes): 34 URL-safe base64 characters, the length of real
 * message ids (e.g. "kyydG4s4FMzU1O6oTGu3v3___opR7dOFbQ" in symphony-bdk-java's test resources),
 * that we can decode.
 */
export function messageId(org: Org, streamId: string, index: number): string {
  const bytes = Buffer.alloc(ID_HASH_BYTES + 6);
  createHash("sha256").update(`${org.seed}\u0001${streamId}\u0001${index}`).digest().copy(bytes, 0, 0, ID_HASH_BYTES);
  bytes.writeUIntBE(index, ID_HASH_BYTES, 6);
  return bytes.toString("base64url");
}

/** The index of a message id within the stream, or null when it is not one of that stream's ids. */
export function messageIndex(org: Org, streamId: string, id: string): number | null {
  if (!/^[A-Za-z0-9_-]{34}$/.test(id)) return null;
  const index = Buffer.from(id, "base64url").readUIntBE(ID_HASH_BYTES, 6);
  return messageId(org, streamId, index) === id ? index : null;
}

export function v4User(person: Person): V4User {
  return {
    userId: person.id,
    firstName: person.firstName,
    lastName: person.lastName,
    displayName: person.displayName,
    email: person.symphonyEmail,
    username: person.userName,
  };
}

function v4Stream(stream: OrgStream): V4Message["stream"] {
  return {
    streamId: stream.id,
    streamType: stream.type,
    ...(stream.roomName ? { roomName: stream.roomName } : {}),
    external: stream.scope === "EXTERNAL",
  };
}

export function buildMessage(
  org: Org,
  stream: OrgStream,
  index: number,
  fields: {
    timestamp: number;
    sender: Person;
    body: Body;
    attachments?: AttachmentInfo[];
    parentMessageId?: string;
    initialMessageId?: string;
    initialTimestamp?: number;
  },
): V4Message {
  const id = messageId(org, stream.id, index);
  return {
    messageId: id,
    timestamp: fields.timestamp,
    message: fields.body.message,
    data: JSON.stringify(fields.body.data),
    attachments: fields.attachments ?? [],
    user: v4User(fields.sender),
    stream: v4Stream(stream),
    externalRecipients: stream.scope === "EXTERNAL",
    userAgent: "DESKTOP-25.11.1-6152-Windows-10-Chrome-131.0.0.0",
    originalFormat: "com.symphony.messageml.v2",
    sid: createHash("sha256").update(`${org.seed}\u0001sid\u0001${id}`).digest("hex").slice(0, 32),
    ...(fields.parentMessageId ? { parentMessageId: fields.parentMessageId } : {}),
    ...(fields.initialMessageId
      ? { initialMessageId: fields.initialMessageId, initialTimestamp: fields.initialTimestamp }
      : {}),
  };
}

function senders(org: Org, stream: OrgStream): Person[] {
  const people = stream.memberIds.filter((id) => id !== org.bot.id).map((id) => personById(org, id)!);
  return stream.type === "POST" ? people.slice(0, 1) : people;
}

function kindOf(org: Org, stream: OrgStream, index: number): ContentKind {
  const global = stream.messageOffset + index;
  // The first messages of the organisation go through every kind, so even a 50-message org has all.
  if (global < CONTENT_KINDS.length * 2) return itemAt(CONTENT_KINDS, global % CONTENT_KINDS.length);
  const roll = hashParts(org.seed, stream.id, index, "kind") % 100;
  return roll < 55 ? "text" : itemAt(CONTENT_KINDS, roll % CONTENT_KINDS.length);
}

function bodyOf(org: Org, stream: OrgStream, index: number, sender: Person): Body {
  const random = seededRandom(org.seed, stream.id, index, "body");
  const pick = (n: number) => Math.floor(random() * n);
  const others = stream.memberIds.filter((id) => id !== sender.id).map((id) => personById(org, id)!);
  return messageBody(kindOf(org, stream, index), pick, others.length > 0 ? others : [sender]);
}

/** Generated message `index` (0 <= index < stream.messageCount) of a stream. */
export function generatedMessage(org: Org, stream: OrgStream, index: number): V4Message {
  const random = seededRandom(org.seed, stream.id, index, "message");
  const pick = (n: number) => Math.floor(random() * n);
  const people = senders(org, stream);
  const sender = itemAt(people, pick(people.length));
  const global = stream.messageOffset + index;
  const id = messageId(org, stream.id, index);
  const attachments: AttachmentInfo[] = [];
  const large = org.largeAttachments ? LARGE_FILES.find((f) => f.globalIndex === global) : undefined;
  if (large)
    attachments.push({ id: attachmentId(org.seed, id, 0, sender.id), name: large.name, size: large.size, images: [] });
  else if (org.smallAttachments && global % 9 === 2) attachments.push(smallAttachment(org.seed, id, sender.id, pick));

  if (index > 0 && global % 13 === 6) {
    // An edit: a later version of the previous message, carrying the first version's id and time.
    const original = generatedMessage(org, stream, index - 1);
    const edited = {
      message: original.message.replace(/<\/div>$/, " (corrected)</div>"),
      data: JSON.parse(original.data) as Record<string, unknown>,
    };
    return buildMessage(org, stream, index, {
      timestamp: messageTimestamp(org, stream, index),
      sender: personById(org, original.user.userId)!,
      body: edited,
      attachments,
      initialMessageId: original.messageId,
      initialTimestamp: original.timestamp,
    });
  }
  const parentMessageId = index > 0 && global % 11 === 5 ? messageId(org, stream.id, pick(index)) : undefined;
  return buildMessage(org, stream, index, {
    timestamp: messageTimestamp(org, stream, index),
    sender,
    body: bodyOf(org, stream, index, sender),
    attachments,
    parentMessageId,
  });
}

/** A message by index, generated or added. */
export function messageAt(org: Org, added: AddedMessages, stream: OrgStream, index: number): V4Message | undefined {
  if (index < stream.messageCount) return index >= 0 ? generatedMessage(org, stream, index) : undefined;
  return added.get(stream.id)?.[index - stream.messageCount];
}

/** First generated index whose timestamp is >= since (binary search over increasing times). */
function firstGeneratedSince(org: Org, stream: OrgStream, since: number): number {
  let lo = 0;
  let hi = stream.messageCount;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (messageTimestamp(org, stream, mid) < since) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Messages with timestamp >= since, oldest first, after skipping `skip`, at most `limit`. */
export function listMessages(
  org: Org,
  added: AddedMessages,
  stream: OrgStream,
  since: number,
  skip: number,
  limit: number,
): V4Message[] {
  // Generated messages come before every added one (addedMessage sees to it).
  const start = firstGeneratedSince(org, stream, since);
  const generated = stream.messageCount - start;
  const extra = addedInTimeOrder(added, stream.id).filter((m) => m.timestamp >= since);
  const page: V4Message[] = [];
  for (let n = skip; page.length < limit; n++) {
    const message = n < generated ? generatedMessage(org, stream, start + n) : extra[n - generated];
    if (!message) break;
    page.push(message);
  }
  return page;
}

/** A message added while running: its time is now, or just after the stream's last message. */
export function addedMessage(
  org: Org,
  added: AddedMessages,
  stream: OrgStream,
  input: {
    sender: Person;
    message?: string;
    text?: string;
    data?: Record<string, unknown>;
    attachments?: Array<{ name: string; size: number }>;
    diagnostic?: string;
    timestamp?: number;
    sharedMessage?: V4Message;
  },
): V4Message {
  const extra = added.get(stream.id) ?? [];
  added.set(stream.id, extra);
  const index = stream.messageCount + extra.length;
  const generatedLast = stream.messageCount > 0 ? messageTimestamp(org, stream, stream.messageCount - 1) : 0;
  if (input.timestamp !== undefined && input.timestamp <= generatedLast)
    throw new Error(`timestamp ${input.timestamp} is not after the stream's generated history (${generatedLast})`);
  // Now, or just after the last message stamped by the sandbox's own clock (one given a time of its own
  // does not move the clock: later messages may be stamped before it, as on a pod with a node ahead).
  const last = extra.filter((m) => !stampedByCaller.has(m)).at(-1)?.timestamp ?? generatedLast;
  const id = messageId(org, stream.id, index);
  const body: Body = { message: input.message ?? presentationMl(escapeHtml(input.text ?? "")), data: input.data ?? {} };
  const attachments = (input.attachments ?? []).map((a, n) => ({
    id: attachmentId(org.seed, id, n, input.sender.id),
    name: a.name,
    size: a.size,
    images: [],
  }));
  const message = buildMessage(org, stream, index, {
    timestamp: input.timestamp ?? Math.max(Date.now(), last + 1),
    sender: input.sender,
    body,
    attachments,
  });
  if (input.diagnostic !== undefined) message.diagnostic = input.diagnostic;
  if (input.sharedMessage) message.sharedMessage = input.sharedMessage;
  if (input.timestamp !== undefined) stampedByCaller.add(message);
  extra.push(message);
  return message;
}

/** Added messages given a time of their own (see addedMessage). */
const stampedByCaller = new WeakSet<V4Message>();

/** A stream's added messages in time order (stable: in the order added for equal times). */
export function addedInTimeOrder(added: AddedMessages, streamId: string): V4Message[] {
  return [...(added.get(streamId) ?? [])].sort((a, b) => a.timestamp - b.timestamp);
}
