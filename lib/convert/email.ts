import { createHash } from "node:crypto";
import { toUrlSafeBase64 } from "@/lib/base64";
import { FROM_ADDRESS_HEADER, SENDER_ID_HEADER, TO_HEADER } from "./headers";
import {
  formatBytes,
  MAX_HTML_BYTES,
  ORIGINAL_DATA_FILE,
  ORIGINAL_DATA_ID,
  ORIGINAL_MESSAGE_FILE,
  ORIGINAL_MESSAGE_ID,
} from "./limits";
import { safeAddress, truncate, visibleFileName, visibleHead, visibleName, visibleText } from "./names";
import {
  inputTooLarge,
  notRenderedBody,
  originalContent,
  renderPresentationML,
  textAsPresentationML,
  type MessageBody,
} from "./presentation";
import { noticeHtml } from "./render-html";
import { withSharedPost } from "./shared-post";
import {
  chatMessageSchema,
  symphonyIdSchema,
  type AttachmentRef,
  type ChatMessage,
  type EmailAddress,
  type EmailModel,
  type OriginalContent,
  type Person,
} from "./types";

export interface BuildEmailOptions {
  /** Domain of generated Message-IDs and of addresses for people without one. */
  domain?: string;
  /**
   * Do not render the body: it says why (this reason) and the original content is attached. The
   * conversion pool sets it for a message whose conversion ran out of memory or time.
   */
  notRendered?: string;
}

const DEFAULT_DOMAIN = "symphony.invalid";
const MAX_NAMES_IN_SUBJECT = 5;
export const MAX_SUBJECT_LENGTH = 255;

/** The same Symphony id in plain or URL-safe base64 gives the same token. */
function idToken(id: string): string {
  const urlSafe = toUrlSafeBase64(id);
  return /^[A-Za-z0-9_-]{1,200}$/.test(urlSafe) ? urlSafe : createHash("sha256").update(id).digest("hex");
}

/** Deterministic RFC 5322 Message-ID of a Symphony message: every mailbox gets the same one. */
export function messageIdFor(symphonyMessageId: string, domain = DEFAULT_DOMAIN): string {
  return `<${idToken(symphonyMessageId)}@${domain}>`;
}

/** The name Symphony shows for a person, as sent (see ./names for what is escaped). */
function nameOf(person: Person): string {
  return visibleName(person.displayName.trim() || person.email || person.userId);
}

/**
 * The person's Microsoft 365 address when mapped, else their Symphony address when it is a plain one,
 * else a stable generated address on `domain`.
 */
function addressOf(person: Person, domain: string): EmailAddress {
  const address =
    safeAddress(person.mappedAddress) ??
    safeAddress(person.email) ??
    `symphony-user-${idToken(person.userId)}@${domain}`;
  return { name: nameOf(person), address };
}

const PLAIN_ID_BYTE = /[A-Za-z0-9._@+=/-]/;
/** Longest token written as it is; a longer one is written as its hash. */
const MAX_ID_TOKEN = 256;
/** An id that is its own token: plain bytes only, short enough. */
const PLAIN_ID = new RegExp(`^${PLAIN_ID_BYTE.source}{0,${MAX_ID_TOKEN}}$`);

/** A Symphony user id (a login name in Content Export) as one header token: UTF-8 percent-encoded unless plain. */
function userIdToken(userId: string): string {
  if (PLAIN_ID.test(userId)) return userId; // every Symphony numeric id
  let token = "";
  for (const byte of Buffer.from(userId, "utf8")) {
    const character = String.fromCharCode(byte);
    token +=
      byte < 0x80 && PLAIN_ID_BYTE.test(character) ? character : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return token.length <= MAX_ID_TOKEN ? token : `sha256:${createHash("sha256").update(userId).digest("hex")}`;
}

function symphonyIdentity(person: Person): string {
  const address = safeAddress(person.email);
  return address ? `${userIdToken(person.userId)} <${address}>` : userIdToken(person.userId);
}

function namesOf(people: Person[]): string {
  const names = people.map(nameOf).sort();
  const shown = names.slice(0, MAX_NAMES_IN_SUBJECT).join(", ");
  return names.length > MAX_NAMES_IN_SUBJECT ? `${shown} and ${names.length - MAX_NAMES_IN_SUBJECT} more` : shown;
}

function uniquePeople(people: Person[]): Person[] {
  const byId = new Map<string, Person>();
  for (const person of people) if (!byId.has(person.userId)) byId.set(person.userId, person);
  return [...byId.values()];
}

function isEdit(message: ChatMessage): boolean {
  return message.initialMessageId !== undefined && message.initialMessageId !== message.messageId;
}

function conversationLabel(message: ChatMessage, everyone: Person[]): string {
  // The room name as sent, like a display name: trimmed, its spaces (NBSP, runs) kept, and control
  // characters and line breaks written as visible \uXXXX escapes (see ./names), never as spaces.
  const name = visibleHead(message.conversationName?.trim() ?? "", MAX_SUBJECT_LENGTH);
  switch (message.streamType) {
    case "ROOM":
      return `Symphony room: ${name || namesOf(everyone)}`;
    case "POST":
      return `Symphony post: ${nameOf(message.sender)}`;
    case "MIM":
      return `Symphony chat: ${namesOf(everyone)}`;
    case "IM":
      return `Symphony IM: ${namesOf(everyone)}`;
  }
}

/**
 * One header line: every part is already visible text (names and room name escaped by ./names), and
 * visibleText again guarantees that no CR, LF or other control character reaches the header.
 */
function subjectOf(message: ChatMessage, everyone: Person[]): string {
  const prefix = isEdit(message) ? "Edited: " : message.parentMessageId ? "Re: " : "";
  return truncate(visibleText(prefix + conversationLabel(message, everyone)), MAX_SUBJECT_LENGTH);
}

/**
 * When the body is not rendered, the original PresentationML or text (and `data`) are attached exactly
 * as Symphony sent them, in front of the message's own attachments.
 */
function originalsOf(message: ChatMessage, notRendered: string | undefined): OriginalContent[] {
  if (!notRendered) return [];
  const originals = [
    originalContent(ORIGINAL_MESSAGE_ID, ORIGINAL_MESSAGE_FILE, "text/plain; charset=utf-8", message.presentationML),
  ];
  if (message.data)
    originals.push(originalContent(ORIGINAL_DATA_ID, ORIGINAL_DATA_FILE, "application/json", message.data));
  return originals;
}

/**
 * The message's body. Plain text (a Content Export message) too large to render is not escaped into
 * markup first: that alone can take the heap of the thread that renders it, here or in the pool.
 */
function renderContent(message: ChatMessage, everyone: Person[]): MessageBody {
  if (!message.contentIsText) return renderPresentationML(message.presentationML, message.data, everyone);
  const tooLarge = inputTooLarge(message.presentationML, message.data);
  if (tooLarge) return notRenderedBody(tooLarge, Boolean(message.data));
  return renderPresentationML(textAsPresentationML(message.presentationML), message.data, everyone);
}

function attachmentOf(ref: AttachmentRef): AttachmentRef {
  return { ...ref, name: visibleFileName(ref.name) };
}

/**
 * One chat message -> the email every recipient mailbox receives. From = sender; To = the other
 * participants (or the sender alone), each by their Microsoft 365 address when mapped (their Symphony
 * address and user id are then in the X-Symphony-* headers); Subject names the conversation; Date =
 * Symphony time.
 */
export function buildEmail(input: ChatMessage, options: BuildEmailOptions = {}): EmailModel {
  const parsed = chatMessageSchema.safeParse(input);
  if (!parsed.success)
    // One line an admin reads in the status log, e.g. "messageId: must be 1-256 printable ASCII characters".
    throw new Error(parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; "));
  const message = parsed.data;
  const domain = options.domain ?? DEFAULT_DOMAIN;
  const everyone = uniquePeople([message.sender, ...message.participants]);
  const from = addressOf(message.sender, domain);
  const others = everyone.filter((person) => person.userId !== message.sender.userId);

  const headers: Record<string, string> = {
    "X-Symphony-Message-Id": message.messageId,
    "X-Symphony-Stream-Id": message.streamId,
    "X-Symphony-Stream-Type": message.streamType,
    [SENDER_ID_HEADER]: userIdToken(message.sender.userId),
  };
  const senderAddress = safeAddress(message.sender.email);
  if (senderAddress) headers[FROM_ADDRESS_HEADER] = senderAddress;
  if (others.length > 0) headers[TO_HEADER] = others.map(symphonyIdentity).join(", ");
  const references: string[] = [];
  let inReplyTo: string | undefined;
  if (message.parentMessageId) {
    headers["X-Symphony-Parent-Message-Id"] = message.parentMessageId;
    inReplyTo = messageIdFor(message.parentMessageId, domain);
    references.push(inReplyTo);
  }
  if (message.initialMessageId && isEdit(message)) {
    headers["X-Symphony-Initial-Message-Id"] = message.initialMessageId;
    if (message.initialTimestamp) headers["X-Symphony-Initial-Timestamp"] = message.initialTimestamp.toISOString();
    inReplyTo = messageIdFor(message.initialMessageId, domain);
    references.push(inReplyTo);
  }

  const render = (notRendered: string | undefined) =>
    notRendered ? notRenderedBody(notRendered, Boolean(message.data)) : renderContent(message, everyone);
  let body = render(options.notRendered);
  let originals = originalsOf(message, body.notRendered);
  let notRendered = body.notRendered;
  const shared = message.shared;
  if (shared) {
    if (shared.messageId && symphonyIdSchema.safeParse(shared.messageId).success)
      headers["X-Symphony-Shared-Message-Id"] = shared.messageId;
    const time = shared.timestamp ? `, ${shared.timestamp.toISOString()}` : "";
    const heading = `Shared post by ${nameOf(shared.sender)}${time}`;
    const people = uniquePeople([...everyone, shared.sender]);
    let withPost = withSharedPost(body, shared, heading, people, options.notRendered);
    if (!withPost.fits) {
      // The message fills the body almost alone: it is attached, the body says why, and the post is
      // shown below that (or attached too, when it does not fit beside the notice either).
      const reason = `with the post it shares it is larger than the ${formatBytes(MAX_HTML_BYTES)} an archived item shows`;
      body = render(reason);
      originals = originalsOf(message, reason);
      withPost = withSharedPost(body, shared, heading, people, options.notRendered);
    }
    body = withPost.body;
    originals = [...originals, ...withPost.originals];
    notRendered = body.notRendered ?? (withPost.notShown && `the shared post: ${withPost.notShown}`);
  }
  // A time Symphony did not send is said as such: the item's date is the connector's choice.
  if (message.timeNote) headers["X-Symphony-Time-Note"] = visibleText(message.timeNote);
  const html = message.timeNote ? body.html + noticeHtml(message.timeNote) : body.html;
  const text = message.timeNote ? `${body.text}\n\n${message.timeNote}` : body.text;
  return {
    from,
    to: others.length > 0 ? others.map((person) => addressOf(person, domain)) : [from],
    subject: subjectOf(message, everyone),
    date: message.timestamp,
    html,
    text,
    messageId: messageIdFor(message.messageId, domain),
    inReplyTo,
    references,
    headers,
    attachments: [...originals.map((original) => original.ref), ...message.attachments.map(attachmentOf)],
    ...(originals.length > 0 ? { originals, notRendered } : {}),
  };
}
