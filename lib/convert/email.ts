import { createHash } from "node:crypto";
import { renderPresentationML } from "./presentation";
import { chatMessageSchema, type ChatMessage, type EmailAddress, type EmailModel, type Person } from "./types";

export interface BuildEmailOptions {
  /** Domain of generated Message-IDs and of addresses for people without one. */
  domain?: string;
}

const DEFAULT_DOMAIN = "symphony.invalid";
const MAX_NAMES_IN_SUBJECT = 5;
const MAX_SUBJECT_LENGTH = 255;
const PLAIN_ADDRESS = /^[^\s<>()",;:@]+@[^\s<>()",;:@]+$/;

/** The same Symphony id in plain or URL-safe base64 gives the same token. */
function idToken(id: string): string {
  const urlSafe = id.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  return /^[A-Za-z0-9_-]{1,200}$/.test(urlSafe) ? urlSafe : createHash("sha256").update(id).digest("hex");
}

/** Deterministic RFC 5322 Message-ID of a Symphony message: every mailbox gets the same one. */
export function messageIdFor(symphonyMessageId: string, domain = DEFAULT_DOMAIN): string {
  return `<${idToken(symphonyMessageId)}@${domain}>`;
}

function nameOf(person: Person): string {
  return person.displayName.trim() || person.email || person.userId;
}

function addressOf(person: Person, domain: string): EmailAddress {
  const email = person.email?.trim();
  const address = email && PLAIN_ADDRESS.test(email) ? email : `symphony-user-${idToken(person.userId)}@${domain}`;
  return { name: nameOf(person), address };
}

function oneLine(text: string): string {
  return text
    .replace(/[\u0000-\u001f\u007f]+/g, " ")
    .replace(/\s+/g, " ")
    .trim();
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
  const name = message.conversationName ? oneLine(message.conversationName) : "";
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

function subjectOf(message: ChatMessage, everyone: Person[]): string {
  const prefix = isEdit(message) ? "Edited: " : message.parentMessageId ? "Re: " : "";
  return oneLine(prefix + conversationLabel(message, everyone)).slice(0, MAX_SUBJECT_LENGTH);
}

/**
 * One chat message -> the email every recipient mailbox receives. From = sender; To = the other
 * participants (or the sender alone); Subject names the conversation; Date = Symphony time.
 */
export function buildEmail(input: ChatMessage, options: BuildEmailOptions = {}): EmailModel {
  const message = chatMessageSchema.parse(input);
  const domain = options.domain ?? DEFAULT_DOMAIN;
  const everyone = uniquePeople([message.sender, ...message.participants]);
  const from = addressOf(message.sender, domain);
  const others = everyone.filter((person) => person.userId !== message.sender.userId);

  const headers: Record<string, string> = {
    "X-Symphony-Message-Id": message.messageId,
    "X-Symphony-Stream-Id": message.streamId,
    "X-Symphony-Stream-Type": message.streamType,
  };
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

  return {
    from,
    to: others.length > 0 ? others.map((person) => addressOf(person, domain)) : [from],
    subject: subjectOf(message, everyone),
    date: message.timestamp,
    ...renderPresentationML(message.presentationML, message.data, everyone),
    messageId: messageIdFor(message.messageId, domain),
    inReplyTo,
    references,
    headers,
    attachments: message.attachments,
  };
}
