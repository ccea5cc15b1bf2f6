import { Readable } from "node:stream";
import type { AddressObject, AttachmentStream, Headers, HeaderValue, MessageText } from "mailparser";
import { domainToASCII } from "node:url";
import { ATTACHMENT_ID_HEADER, TIMESTAMP_HEADER } from "./mime";
import type { AttachmentRef, EmailAddress, EmailModel } from "./types";

export interface StagedAttachment {
  ref: AttachmentRef;
  /** Read it before asking for the next attachment. */
  content: Readable;
}

export interface StagedMessage {
  email: EmailModel;
  /** Streams the attachments in order (one more read of the blob; none when there are no attachments). */
  attachments: () => AsyncGenerator<StagedAttachment>;
}

type ParsedPart = AttachmentStream | MessageText;

async function parse(source: Readable, onHeaders: (headers: Headers) => void): Promise<AsyncIterable<ParsedPart>> {
  // Loaded on first use: the import reads staged MIME only for items staged before their Graph model was.
  const { MailParser } = await import("mailparser");
  // Only the headers, the two bodies and the attachments are read back: textAsHtml (linkify) and
  // inlining cid: images as data URLs would be work thrown away on every item.
  // Nor is HTML turned into text (with no limit on its size): an item with HTML shows its HTML.
  const parser = new MailParser({
    skipTextToHtml: true,
    skipHtmlToText: true,
    skipTextLinks: true,
    skipImageLinks: true,
  });
  parser.once("headers", onHeaders);
  source.once("error", (error) => parser.destroy(error));
  parser.once("close", () => source.destroy());
  return source.pipe(parser);
}

/**
 * mailparser shows an internationalized domain in Unicode: buildMime wrote it in ASCII (punycode),
 * and that is the address the Graph item gets.
 */
function asciiAddress(address: string): string {
  const at = address.lastIndexOf("@");
  const domain = address.slice(at + 1);
  return at > 0 && /[^\x00-\x7f]/.test(domain) ? `${address.slice(0, at)}@${domainToASCII(domain) || domain}` : address;
}

function addresses(value: HeaderValue | undefined): EmailAddress[] {
  const objects = (Array.isArray(value) ? value : [value]) as (AddressObject | undefined)[];
  return objects.flatMap((object) =>
    (object?.value ?? []).flatMap((entry) =>
      entry.address ? [{ name: entry.name, address: asciiAddress(entry.address) }] : [],
    ),
  );
}

function headerString(headers: Headers, name: string): string | undefined {
  const value = headers.get(name);
  return typeof value === "string" ? value : undefined;
}

/** "x-symphony-message-id" -> "X-Symphony-Message-Id", the spelling buildEmail uses. */
function canonicalHeaderName(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_, dash: string, letter: string) => dash + letter.toUpperCase());
}

/**
 * The media type a reader of the staged MIME gives back for a part written as `contentType` (its
 * value, in lower case), or undefined when mailparser derives another: from the file name for
 * application/octet-stream, and none for a multipart part, which it reads as structure (buildMime
 * writes none for a file).
 */
export function readBackContentType(contentType: string): string | undefined {
  const value = (contentType.split(";", 1)[0] ?? "").trim().toLowerCase();
  return value === "application/octet-stream" || value.startsWith("multipart/") ? undefined : value;
}

function attachmentRef(part: AttachmentStream, index: number, size: number): AttachmentRef {
  const id = part.headers.get(ATTACHMENT_ID_HEADER.toLowerCase());
  return {
    id: typeof id === "string" && id ? id : `part-${part.partId ?? index}`,
    name: part.filename ?? `attachment-${index + 1}`,
    size,
    contentType: part.contentType,
  };
}

async function* streamAttachments(
  open: () => Readable | Promise<Readable>,
  refs: AttachmentRef[],
): AsyncGenerator<StagedAttachment> {
  if (refs.length === 0) return;
  let index = 0;
  for await (const part of await parse(await open(), () => {})) {
    if (part.type !== "attachment") continue;
    try {
      const ref = refs[index++];
      if (!ref) throw new Error("the staged message has changed since it was first read");
      yield { ref, content: part.content };
    } finally {
      part.release?.();
    }
  }
}

/**
 * Reads a staged MIME blob back into the email model (X-Symphony-* headers give back the ids and
 * the time to the millisecond). buildMime encodes every name so that it decodes to the exact text.
 * `open` is called once for the email and once more only if attachments are streamed: MIME puts the
 * body's text parts in front, but the parser reports them at the end, after the attachments.
 */
export async function readStagedMime(open: () => Readable | Promise<Readable>): Promise<StagedMessage> {
  const { email } = await readParts(await open(), false);
  // The refs alone: an item keeps this function while it is imported, and must not keep the text with it.
  const refs = email.attachments;
  return { email, attachments: () => streamAttachments(open, refs) };
}

/**
 * A staged MIME held in memory (a bundled one) read back in one pass: the email model and the
 * attachments' contents, in order.
 */
export async function readStagedMimeWhole(mime: Buffer): Promise<{ email: EmailModel; contents: Buffer[] }> {
  return readParts(Readable.from([mime]), true);
}

async function readParts(source: Readable, keep: boolean): Promise<{ email: EmailModel; contents: Buffer[] }> {
  let headers: Headers = new Map();
  let text: MessageText | undefined;
  const refs: AttachmentRef[] = [];
  const contents: Buffer[] = [];
  for await (const part of await parse(source, (parsed) => (headers = parsed))) {
    if (part.type === "text") {
      text = part;
      continue;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of part.content) {
      size += (chunk as Buffer).length;
      if (keep) chunks.push(chunk as Buffer);
    }
    if (keep) contents.push(Buffer.concat(chunks, size));
    refs.push(attachmentRef(part, refs.length, size));
    part.release?.();
  }

  return { email: emailOf(headers, text, refs), contents };
}

/** The email model of a staged MIME's headers, its text and its attachments' refs. */
function emailOf(headers: Headers, text: MessageText | undefined, refs: AttachmentRef[]): EmailModel {
  const symphonyHeaders: Record<string, string> = {};
  for (const [name, value] of headers) {
    if (name.startsWith("x-symphony-") && name !== TIMESTAMP_HEADER.toLowerCase() && typeof value === "string") {
      symphonyHeaders[canonicalHeaderName(name)] = value;
    }
  }
  const references = headers.get("references");
  const cc = addresses(headers.get("cc"));
  const timestamp = headerString(headers, TIMESTAMP_HEADER.toLowerCase());
  const date = timestamp ? new Date(timestamp) : headers.get("date");
  return {
    from: addresses(headers.get("from"))[0] ?? { name: "", address: "" },
    to: addresses(headers.get("to")),
    ...(cc.length > 0 && { cc }),
    subject: headerString(headers, "subject") ?? "",
    date: date instanceof Date && !Number.isNaN(date.getTime()) ? date : new Date(NaN),
    html: text?.html ?? "",
    text: text?.text ?? "",
    messageId: headerString(headers, "message-id") ?? "",
    inReplyTo: headerString(headers, "in-reply-to"),
    references:
      typeof references === "string"
        ? references.split(/\s+/).filter(Boolean)
        : Array.isArray(references)
          ? references.map(String)
          : [],
    headers: symphonyHeaders,
    attachments: refs,
  };
}

/** What mailparser reads whole into memory as a message's text; any other leaf part is an attachment, streamed. */
const TEXT_TYPES = new Set(["text/plain", "text/html", "message/delivery-status"]);

type SplitPart =
  | { type: "node"; root: boolean; contentType: string | false; multipart: string | false; disposition: string | false }
  | { type: "body" | "data"; value: Buffer };

/**
 * Whether a staged MIME's text passes `limit` bytes, as encoded: every part mailparser reads whole as
 * text, together (it holds them all, then joins them). Its rule: a text type, inline or without a
 * disposition; a part without a type is text/plain. The MIME is only split, never held, and no more of
 * it is read once the answer is known.
 */
export async function textExceeds(source: Readable, limit: number): Promise<boolean> {
  const { Splitter } = await import("@zone-eu/mailsplit");
  const splitter = new Splitter();
  source.once("error", (error) => splitter.destroy(error));
  let total = 0;
  let text = false;
  try {
    for await (const part of source.pipe(splitter) as AsyncIterable<SplitPart>) {
      if (part.type === "node") {
        const type = part.contentType || (part.root ? "text/plain" : "");
        text = !part.multipart && TEXT_TYPES.has(type) && (!part.disposition || part.disposition === "inline");
      } else if (part.type === "body" && text) {
        total += part.value.length;
        if (total > limit) return true;
      }
    }
    return false;
  } finally {
    source.unpipe(splitter);
    source.destroy();
    splitter.destroy();
  }
}

/** Header block of a MIME read at most (mailsplit's own limit for a node's header). */
const MAX_HEAD_BYTES = 1024 * 1024;

/**
 * The email of a staged MIME from its headers alone: only its header block is read (up to the first
 * empty line, 1 MB at most) and parsed, so no text is held (see largestTextPart). No body, no attachments.
 */
export async function readStagedHeaders(source: Readable): Promise<EmailModel> {
  const chunks: Buffer[] = [];
  let length = 0;
  let end = -1;
  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      length += chunk.length;
      const read = Buffer.concat(chunks, length);
      const blank = /\r?\n\r?\n/.exec(read.subarray(0, MAX_HEAD_BYTES).toString("latin1"));
      if (blank) {
        end = blank.index + blank[0].length;
        break;
      }
      if (length >= MAX_HEAD_BYTES) break;
    }
  } finally {
    source.destroy();
  }
  const head = Buffer.concat(chunks, length).subarray(0, end === -1 ? Math.min(length, MAX_HEAD_BYTES) : end);
  const { email } = await readParts(Readable.from([head]), false);
  return { ...email, html: "", text: "", attachments: [] };
}
