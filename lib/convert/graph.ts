import { FROM_ADDRESS_HEADER, SENDER_ID_HEADER, TO_HEADER } from "./headers";
import type { EmailAddress, EmailModel } from "./types";

export interface GraphRecipient {
  emailAddress: { name: string; address: string };
}

export interface GraphExtendedProperty {
  id: string;
  value: string;
}

export interface GraphInternetMessageHeader {
  name: string;
  value: string;
}

/** Body of Graph `POST /users/{id}/mailFolders/{folderId}/messages` (attachments are added afterwards). */
export interface GraphMessage {
  subject: string;
  body: { contentType: "html" | "text"; content: string };
  from: GraphRecipient;
  sender: GraphRecipient;
  toRecipients: GraphRecipient[];
  ccRecipients?: GraphRecipient[];
  internetMessageId: string;
  isRead: true;
  singleValueExtendedProperties: GraphExtendedProperty[];
  /** Our X-Symphony-* headers, at most MAX_GRAPH_HEADERS, so that eDiscovery finds items by stream. */
  internetMessageHeaders?: GraphInternetMessageHeader[];
}

/**
 * Graph takes at most 5 custom headers on a create: a sixth answers 400
 * `InvalidInternetMessageHeaderCollection` "Maximum number of headers in one message should be less
 * than or equal to 5." (Microsoft Q&A 762243). Each name must start with `x-`/`X-` (the message
 * resource: "Add custom headers only when creating a message, and name them starting with "x-"";
 * otherwise 400 `InvalidInternetMessageHeader`).
 */
export const MAX_GRAPH_HEADERS = 5;
/** RFC 5322 section 2.1.1: a header line (name, ": ", value) of at most 998 characters. */
const MAX_HEADER_LINE = 998;

/**
 * Most useful first: the rest (and anything past the limit) stays in the staged MIME only. The ids
 * first, then the sender's Symphony identity (From may show their Microsoft 365 address), then what
 * the item links to; the stream type (the Subject names it) and the recipients' Symphony identities
 * (a long list) come last.
 */
export const GRAPH_HEADER_ORDER = [
  "X-Symphony-Message-Id",
  "X-Symphony-Stream-Id",
  SENDER_ID_HEADER,
  FROM_ADDRESS_HEADER,
  "X-Symphony-Parent-Message-Id",
  "X-Symphony-Initial-Message-Id",
  "X-Symphony-Shared-Message-Id",
  "X-Symphony-Stream-Type",
  "X-Symphony-Initial-Timestamp",
  TO_HEADER,
];

const RANKS = new Map(GRAPH_HEADER_ORDER.map((name, index) => [name.toLowerCase(), index]));

function rank(name: string): number {
  return RANKS.get(name.toLowerCase()) ?? GRAPH_HEADER_ORDER.length;
}

/**
 * The email's X-Symphony-* headers as Graph accepts them on a create: `x-` names only, single-line
 * values, one line each within RFC 5322's limit, at most MAX_GRAPH_HEADERS, most useful first.
 */
export function graphHeaders(headers: Record<string, string>): GraphInternetMessageHeader[] {
  return Object.entries(headers)
    .filter(
      ([name, value]) =>
        /^x-[!-9;-~]+$/i.test(name) &&
        value !== "" &&
        !/[\r\n\0]/.test(value) &&
        name.length + 2 + value.length <= MAX_HEADER_LINE,
    )
    .map(([name, value]) => ({ name, value, rank: rank(name) }))
    .sort((a, b) => a.rank - b.rank || a.name.localeCompare(b.name))
    .slice(0, MAX_GRAPH_HEADERS)
    .map(({ name, value }) => ({ name, value }));
}

/** PR_MESSAGE_FLAGS = MSGFLAG_READ: a received, read item; without it Exchange keeps a draft. */
export const MESSAGE_FLAGS_PROPERTY = "Integer 0x0E07";
/** PR_MESSAGE_DELIVERY_TIME: the received time Outlook shows and sorts by. */
export const DELIVERY_TIME_PROPERTY = "SystemTime 0x0E06";
/** PR_CLIENT_SUBMIT_TIME: the sent time. */
export const SUBMIT_TIME_PROPERTY = "SystemTime 0x0039";

function recipient({ name, address }: EmailAddress): GraphRecipient {
  return { emailAddress: { name, address } };
}

/** The Graph JSON message for an email, without attachments and without the idempotency key. */
export function toGraphMessage(email: EmailModel): GraphMessage {
  const time = email.date.toISOString();
  const headers = graphHeaders(email.headers);
  return {
    subject: email.subject,
    // An email with a text part alone (a Content Export EML may be one) keeps its text as it is.
    body:
      email.html === "" && email.text !== ""
        ? { contentType: "text", content: email.text }
        : { contentType: "html", content: email.html },
    from: recipient(email.from),
    sender: recipient(email.from),
    toRecipients: email.to.map(recipient),
    ...(email.cc?.length ? { ccRecipients: email.cc.map(recipient) } : {}),
    internetMessageId: email.messageId,
    isRead: true,
    singleValueExtendedProperties: [
      { id: MESSAGE_FLAGS_PROPERTY, value: "1" },
      { id: DELIVERY_TIME_PROPERTY, value: time },
      { id: SUBMIT_TIME_PROPERTY, value: time },
    ],
    ...(headers.length > 0 ? { internetMessageHeaders: headers } : {}),
  };
}
