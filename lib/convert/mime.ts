import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import MailComposer from "nodemailer/lib/mail-composer";
import type Mail from "nodemailer/lib/mailer";
import mimeFuncs from "nodemailer/lib/mime-funcs";
import type MimeNode from "nodemailer/lib/mime-node";
import qp from "nodemailer/lib/qp";
import { base64Length } from "@/lib/base64";
import { safeAddress, visibleFileName } from "./names";
import type { AttachmentRef, AttachmentSource, EmailAddress, EmailModel } from "./types";

/** Header on each attachment part carrying the Symphony attachment id, read back by readStagedMime. */
export const ATTACHMENT_ID_HEADER = "X-Symphony-Attachment-Id";

/** The message's time to the millisecond (the Date header has seconds), read back by readStagedMime. */
export const TIMESTAMP_HEADER = "X-Symphony-Timestamp";

/**
 * Multipart boundaries: a secret random prefix per process and a counter. Nodemailer would draw 8
 * random bytes for every MIME part (a tenth of the MIME time); this stays just as unguessable by
 * whoever writes a message, and unique per message.
 */
const boundaryPrefix = randomBytes(12).toString("hex");
let boundaryCounter = 0;

/** Opens the source only when the MIME writer reaches this attachment, then follows its pace. */
function openWhenRead(open: () => Readable): Readable {
  let source: Readable | undefined;
  const stream: Readable = new Readable({
    read() {
      if (source) {
        source.resume();
        return;
      }
      source = open();
      source.on("data", (chunk: Buffer) => {
        if (!stream.push(chunk)) source?.pause();
      });
      source.once("end", () => stream.push(null));
      source.once("error", (error) => stream.destroy(error));
    },
    destroy(error, callback) {
      source?.destroy();
      callback(error);
    },
  });
  return stream;
}

// From, To, Subject and the attachments' file names are written here rather than by nodemailer,
// which leaves an ASCII value that looks like an encoded word as it is (a decoder then decodes it),
// quotes an ASCII name whatever it holds, and does not fold long words (lines past RFC 5322's 998
// characters). Text here is either plain words or RFC 2047 encoded words (base64 UTF-8), folded,
// so that any decoder gives back exactly the text, and header lines stay short (an address is
// never split: up to 254 characters).

const FOLD = "\r\n ";
/** UTF-8 bytes per encoded word: `=?UTF-8?B?` + 56 base64 characters + `?=` is 68 characters. */
const WORD_BYTES = 42;

function utf8Length(codePoint: number): number {
  return codePoint < 0x80 ? 1 : codePoint < 0x800 ? 2 : codePoint < 0x10000 ? 3 : 4;
}

/** `text` as RFC 2047 encoded words, split on character boundaries and folded. */
function encodedWords(text: string): string {
  const words: string[] = [];
  let word = "";
  let bytes = 0;
  for (const character of text) {
    const length = utf8Length(character.codePointAt(0) ?? 0);
    if (bytes + length > WORD_BYTES) {
      words.push(word);
      word = "";
      bytes = 0;
    }
    word += character;
    bytes += length;
  }
  if (word) words.push(word);
  return words.map((w) => `=?UTF-8?B?${Buffer.from(w, "utf8").toString("base64")}?=`).join(FOLD);
}

/** Words of printable ASCII separated by single spaces, none looking like an encoded word. */
function plainWords(text: string, words: RegExp): boolean {
  return !text.includes("=?") && words.test(text);
}

/** Words of 1-60 characters of `character`, separated by single spaces. */
function wordsOf(character: RegExp): RegExp {
  const word = `${character.source}{1,60}`;
  return new RegExp(`^${word}(?: ${word})*$`);
}

/** Printable ASCII words. */
const PLAIN_TEXT_WORDS = wordsOf(/[\x21-\x7e]/);
/** RFC 5322 atoms: a display name of these needs no quoting. */
const ATOMS = wordsOf(/[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]/);

/** Unstructured text (Subject): plain words folded at spaces, or encoded words. */
function textHeader(text: string): string {
  if (!plainWords(text, PLAIN_TEXT_WORDS)) return encodedWords(text);
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line && line.length + word.length + 1 > 68) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  lines.push(line);
  return lines.join(FOLD);
}

function mailbox({ name, address }: EmailAddress): string {
  if (safeAddress(address) !== address) throw new Error(`not a plain email address: ${JSON.stringify(address)}`);
  if (!name) return `<${address}>`;
  const phrase = plainWords(name, ATOMS) ? name : encodedWords(name);
  const lastLine = phrase.slice(phrase.lastIndexOf("\n") + 1);
  return `${phrase}${lastLine.length + address.length > 64 ? FOLD : " "}<${address}>`;
}

const ATTR_CHAR = /[A-Za-z0-9!#$&+\-.^_`|~]/;
const PLAIN_FILE_NAME = /^[\x21\x23-\x5b\x5d-\x7e](?:[\x20\x21\x23-\x5b\x5d-\x7e]{0,58}[\x21\x23-\x5b\x5d-\x7e])?$/;

/** Content-Disposition with the file name quoted when plain, else in RFC 2231 form, continued every 60 characters. */
function disposition(name: string): string {
  if (PLAIN_FILE_NAME.test(name) && !name.includes("=?")) return `attachment; filename="${name}"`;
  const pieces: string[] = [];
  let piece = "";
  for (const byte of Buffer.from(name, "utf8")) {
    const character = String.fromCharCode(byte);
    const encoded =
      byte < 0x80 && ATTR_CHAR.test(character) ? character : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
    if (piece.length + encoded.length > 60) {
      pieces.push(piece);
      piece = "";
    }
    piece += encoded;
  }
  pieces.push(piece);
  if (pieces.length === 1) return `attachment; filename*=utf-8''${piece}`;
  return `attachment;${pieces.map((p, i) => `${FOLD}filename*${i}*=${i === 0 ? "utf-8''" : ""}${p}`).join(";")}`;
}

const CONTENT_TYPE =
  /^[A-Za-z0-9!#$&^_.+-]{1,64}\/[A-Za-z0-9!#$&^_.+-]{1,64}(?:; ?[A-Za-z0-9_-]{1,32}=[A-Za-z0-9_.-]{1,64})?$/;

/** A multipart type on a file would have readers take its bytes for MIME structure and drop the file. */
const MULTIPART = /^multipart\//i;

/** The part's media type: Symphony's when well-formed (and not multipart), else derived from the file name. */
function contentTypeOf(ref: AttachmentRef, name: string): string {
  if (ref.contentType && CONTENT_TYPE.test(ref.contentType) && !MULTIPART.test(ref.contentType)) return ref.contentType;
  const extension = /\.([A-Za-z0-9]{1,16})$/.exec(name)?.[1];
  const derived = extension ? mimeFuncs.detectMimeType(extension) : "application/octet-stream";
  return MULTIPART.test(derived) ? "application/octet-stream" : derived;
}

const WRITTEN_HERE = new Set(["from", "to", "subject", TIMESTAMP_HEADER.toLowerCase()]);

type Part = { ref: AttachmentRef; name: string; contentType: string; content: Readable | Buffer };

/** An attachment part as its headers and content write it: what a MIME reader gives back for it. */
export type WrittenPart = { name: string; contentType: string; content: Buffer };

/** The email's parts: its `originals` (content the converter attaches itself), then `attachments`. */
function partsOf<T extends Readable | Buffer>(
  email: EmailModel,
  attachments: Array<{ ref: AttachmentRef; content: T }>,
): Array<Part & { content: T | Buffer }> {
  return [
    ...(email.originals ?? []).map(({ ref, content }) => ({ ref, content: Buffer.from(content, "utf8") })),
    ...attachments,
  ].map(({ ref, content }) => {
    const name = visibleFileName(ref.name);
    return { ref, name, contentType: contentTypeOf(ref, name), content };
  });
}

/**
 * The email as a MIME stream (message/rfc822). Attachment contents are piped from their sources
 * as the stream is read, so a large attachment is never held in memory. `streamed` writes a message
 * without parts through nodemailer's streams too (the same bytes; roundtrip.test.ts compares them).
 */
export function buildMime(
  email: EmailModel,
  attachments: AttachmentSource[],
  { streamed = false }: { streamed?: boolean } = {},
): Readable {
  const parts = partsOf(
    email,
    attachments.map((source) => ({ ref: source.ref, content: openWhenRead(() => source.open()) })),
  );
  if (parts.length === 0 && !streamed) {
    // Nothing to stream: the same bytes written at once.
    return Readable.from([wholeMime(email)], { objectMode: false });
  }
  const { head, headers } = headOf(email);
  const baseBoundary = nextBaseBoundary();
  const mime = composer(email, headers, parts, baseBoundary).createReadStream();
  // Before anything is read: the header lines written here come first (no extra stream to pass through).
  mime.unshift(Buffer.from(head));
  return mime;
}

/**
 * The MIME of an email whose attachments are all in memory (nearly every chat message has none, or
 * small ones), written at once: the bytes buildMime streams when each attachment's source gives its
 * content as one chunk (roundtrip.test.ts compares them). Also the parts as written, so that the
 * import's model of the message is built without reading the MIME back.
 */
export function bufferedMime(
  email: EmailModel,
  attachments: Array<{ ref: AttachmentRef; content: Buffer }>,
): { mime: Buffer; parts: WrittenPart[] } {
  const parts = partsOf(email, attachments);
  if (parts.length === 0) return { mime: wholeMime(email), parts: [] };
  const { head, headers } = headOf(email);
  return {
    mime: written(head, serialize(composer(email, headers, parts, nextBaseBoundary()))),
    parts: parts.map(({ name, contentType, content }) => ({ name, contentType, content })),
  };
}

/** The email's MIME with no parts at all (whatever its attachments say). */
function wholeMime(email: EmailModel): Buffer {
  const { head, headers } = headOf(email);
  const baseBoundary = nextBaseBoundary();
  return written(
    head,
    alternativeMime(email, headers, baseBoundary) ?? serialize(composer(email, headers, [], baseBoundary)),
  );
}

/** A piece of MIME written at once: text (UTF-8), or bytes to write as base64 lines (see base64Lines). */
type Piece = string | { base64Of: Buffer };

/**
 * The header lines written here, then the body's pieces, in one buffer: written straight into it, an
 * attachment's base64 included (each intermediate copy of a message with files was another buffer of
 * its size for the collector to free). The body ends with a line break, as nodemailer's LastNewline
 * makes it end.
 */
function written(head: string, body: Piece[]): Buffer {
  const length = body.reduce(
    (sum, piece) =>
      sum + (typeof piece === "string" ? Buffer.byteLength(piece, "utf8") : base64LinesLength(piece.base64Of.length)),
    Buffer.byteLength(head, "utf8"),
  );
  const out = Buffer.allocUnsafe(length + 2);
  let at = out.write(head, 0, "utf8");
  const bodyStart = at;
  for (const piece of body) {
    at = typeof piece === "string" ? at + out.write(piece, at, "utf8") : base64LinesInto(piece.base64Of, out, at);
  }
  const last = at > bodyStart ? out[at - 1] : undefined;
  if (last !== 0x0a) at += out.write(last === 0x0d ? "\n" : "\r\n", at, "latin1");
  return out.subarray(0, at);
}

function nextBaseBoundary(): string {
  return `${boundaryPrefix}${(boundaryCounter++).toString(36)}`;
}

/** The header lines written here (they go in front of nodemailer's), and the email's other headers for nodemailer. */
function headOf(email: EmailModel): { head: string; headers: Record<string, string> } {
  const head = [
    `From: ${mailbox(email.from)}`,
    `To: ${email.to.map(mailbox).join(`,${FOLD}`)}`,
    `Subject: ${textHeader(email.subject)}`,
    `${TIMESTAMP_HEADER}: ${email.date.toISOString()}`,
    "",
  ].join("\r\n");
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(email.headers)) {
    if (!WRITTEN_HERE.has(name.toLowerCase())) headers[name] = value;
  }
  return { head, headers };
}

/** nodemailer's MIME tree of the email: its headers, bodies and `parts` (the headers written here go in front). */
function composer(email: EmailModel, headers: Record<string, string>, parts: Part[], baseBoundary: string): MimeNode {
  // baseBoundary is a MailComposer option its type declarations lack.
  const options: ConstructorParameters<typeof MailComposer>[0] & { baseBoundary: string } = {
    date: email.date,
    messageId: email.messageId,
    inReplyTo: email.inReplyTo,
    references: email.references.length > 0 ? email.references : undefined,
    headers,
    html: email.html,
    text: email.text,
    attachments: parts.map(({ ref, name, contentType, content }): Mail.Attachment => ({
      filename: false,
      contentType,
      // A prepared header is written as it is; the declarations only know the plain values.
      contentDisposition: { prepared: true, value: disposition(name) } as unknown as "attachment",
      contentTransferEncoding: "base64",
      content,
      headers: { [ATTACHMENT_ID_HEADER]: ref.id },
    })),
    baseBoundary,
    disableFileAccess: true,
    disableUrlAccess: true,
  };
  return new MailComposer(options).compile();
}

/**
 * What MimeNode.createReadStream writes for a tree whose contents are all strings or buffers, as the
 * pieces `written` puts together (it adds the last line break the output may lack): each node's
 * headers (nodemailer's own buildHeaders), its content in the transfer encoding nodemailer picked (its
 * own encoders, wrapped at 76 as its stream encoders do), the children between boundaries.
 * nodemailer's streams cost far more than the encoding for a message of a few kilobytes.
 * roundtrip.test.ts compares both byte for byte.
 */
function serialize(root: MimeNode): Piece[] {
  const out: Piece[] = [];
  let text = "";
  const flushText = () => {
    if (text) out.push(text);
    text = "";
  };
  const write = (node: MimeNode) => {
    text += `${node.buildHeaders()}\r\n\r\n`;
    const { content } = node;
    if (content) {
      if (typeof content !== "string" && !Buffer.isBuffer(content)) throw new Error("streamed content in a MIME part");
      const encoding = node.getTransferEncoding();
      if (encoding === "base64") {
        // An attachment's lines go out as bytes: never one string of its whole size.
        flushText();
        out.push({ base64Of: typeof content === "string" ? Buffer.from(content, "utf8") : content });
      } else text += encodedContent(content, encoding);
    }
    if (node.multipart) {
      node.childNodes.forEach((child, index) => {
        text += `${index > 0 ? "\r\n" : ""}--${String(node.boundary)}\r\n`;
        write(child);
      });
      text += `\r\n--${String(node.boundary)}--\r\n`;
    }
  };
  write(root);
  flushText();
  return out;
}

/** A part's content in its transfer encoding, wrapped at 76 as nodemailer's stream encoders do. */
function encodedContent(content: string | Buffer, encoding: string | false): string {
  const bytes = typeof content === "string" ? Buffer.from(content, "utf8") : content;
  if (encoding === "quoted-printable") return qp.wrap(qp.encode(bytes), 76);
  if (encoding === "base64") return base64Lines(bytes).toString("latin1");
  return bytes.toString("utf8");
}

/** Headers nodemailer writes or overrides itself: an email carrying one of them is left to nodemailer. */
const COMPOSER_HEADERS = new Set([
  "From",
  "Sender",
  "To",
  "Cc",
  "Bcc",
  "Reply-To",
  "In-Reply-To",
  "References",
  "Subject",
  "Message-ID",
  "Date",
  "MIME-Version",
  "Content-Type",
  "Content-Transfer-Encoding",
]);

/**
 * The MIME of an email with a text and an HTML body and no parts (nearly every chat message),
 * written directly: the very bytes MailComposer writes for it (roundtrip.test.ts compares them over
 * random and hostile emails), with nodemailer's own encoders, for a fraction of the cost (its
 * MimeNode tree normalises every header key on every lookup and draws random bytes per node).
 * Undefined for any other email, which nodemailer then writes.
 */
function alternativeMime(email: EmailModel, custom: Record<string, string>, baseBoundary: string): Piece[] | undefined {
  if (!email.text || !email.html) return undefined;
  const lines: string[] = [];
  const header = (key: string, value: string) => {
    const line = `${key}: ${value}`;
    if (value.trim()) lines.push(line.length < 76 ? line : mimeFuncs.foldLines(line, 76));
  };
  for (const [name, value] of Object.entries(custom)) {
    const key = normalizedHeaderKey(name);
    if (COMPOSER_HEADERS.has(key)) return undefined;
    header(key, composerWords(flat(value)));
  }
  if (email.inReplyTo) header("In-Reply-To", angled(flat(email.inReplyTo)));
  if (email.references.length > 0) header("References", referencesValue(email.references));
  header("Message-ID", angled(flat(email.messageId)));
  header("Date", email.date.toUTCString().replace(/GMT/, "+0000"));
  header("MIME-Version", "1.0");
  const boundary = `--_NmP-${baseBoundary}-Part_1`;
  header("Content-Type", `multipart/alternative; boundary="${boundary}"`);
  const part = (contentType: string, content: string) => {
    const encoding = textTransferEncoding(content);
    return `${contentType}\r\nContent-Transfer-Encoding: ${encoding}\r\n\r\n${encodedContent(content, encoding)}`;
  };
  return [
    `${lines.join("\r\n")}\r\n\r\n` +
      `--${boundary}\r\n${part("Content-Type: text/plain; charset=utf-8", email.text)}` +
      `\r\n--${boundary}\r\n${part("Content-Type: text/html; charset=utf-8", email.html)}` +
      `\r\n--${boundary}--\r\n`,
  ];
}

const normalizedKeys = new Map<string, string>();

/** nodemailer's header key form: Camel-Case, MIME and a few acronyms in capitals (the X-Symphony-* names are few: kept). */
function normalizedHeaderKey(key: string): string {
  let normalized = normalizedKeys.get(key);
  if (normalized === undefined) {
    normalized = normalizeHeaderKey(key);
    if (normalizedKeys.size < 256) normalizedKeys.set(key, normalized);
  }
  return normalized;
}

function normalizeHeaderKey(key: string): string {
  return flat(key)
    .trim()
    .toLowerCase()
    .replace(/^X-SMTPAPI$|^(MIME|DKIM|ARC|BIMI)\b|^[a-z]|-(SPF|FBL|ID|MD5)$|-[a-z]/gi, (c) => c.toUpperCase())
    .replace(/^Content-Features$/i, "Content-features");
}

/** nodemailer's choice between Q and B encoding: Q when Latin letters outnumber the rest. */
function qOrB(value: string): "Q" | "B" {
  // Its two regular expressions, /[\x00-\x08\x0B\x0C\x0E-\x1F\u0080-\uFFFF]/g and /[a-z]/gi, counted in one pass.
  let nonLatin = 0;
  let latin = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if ((c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a)) latin++;
    else if (c <= 0x08 || c === 0x0b || c === 0x0c || (c >= 0x0e && c <= 0x1f) || c >= 0x80) nonLatin++;
  }
  return nonLatin < latin ? "Q" : "B";
}

const NEEDS_WORDS = /["\u0080-\uFFFF]/;

/** An unstructured header value as nodemailer writes it: as it is, or all encoded words if any character needs it. */
function composerWords(value: string): string {
  // encodeWords returns a value as it is unless a word holds a quote or a character past ASCII.
  if (!NEEDS_WORDS.test(value)) return value;
  const encodeWords = mimeFuncs.encodeWords as (
    value: string,
    encoding: "Q" | "B",
    max: number,
    all: boolean,
  ) => string;
  return encodeWords(value, qOrB(value), 52, true);
}

/** A header value on one line (nodemailer turns line breaks into spaces). */
function flat(value: string): string {
  return value.replace(/\r?\n|\r/g, " ");
}

/** An id in angle brackets, as nodemailer completes them. */
function angled(id: string): string {
  return `${id.startsWith("<") ? "" : "<"}${id}${id.endsWith(">") ? "" : ">"}`;
}

/** The References value: each id in angle brackets, separated by spaces. */
function referencesValue(references: string[]): string {
  return references
    .flatMap((reference) =>
      flat(reference)
        .trim()
        .replace(/<[^>]*>/g, (id) => id.replace(/\s/g, ""))
        .split(/\s+/),
    )
    .map(angled)
    .join(" ")
    .trim();
}

/** The transfer encoding nodemailer picks for a text body. */
function textTransferEncoding(content: string): "7bit" | "quoted-printable" | "base64" {
  if (mimeFuncs.isPlainText(content) && !mimeFuncs.hasLongerLines(content, 76)) return "7bit";
  return qOrB(content) === "Q" ? "quoted-printable" : "base64";
}

/** Input bytes per piece of base64Lines: 1,024 whole lines. */
const BASE64_PIECE_BYTES = 57 * 1024;

/**
 * What nodemailer's base64 Encoder writes for `bytes` given as one chunk: it wraps what the whole
 * 3-byte groups encode to (more than one line: a line break after every full line of 76, the last
 * included), then adds the last 1-2 bytes' characters unwrapped. Encoded here piece by piece into one
 * buffer: nodemailer's own wrap builds strings of the attachment's size with a regular expression, at
 * a third of the speed.
 */
export function base64Lines(bytes: Buffer): Buffer {
  const out = Buffer.allocUnsafe(base64LinesLength(bytes.length));
  base64LinesInto(bytes, out, 0);
  return out;
}

/** How many bytes base64Lines writes for `length` bytes. */
function base64LinesLength(length: number): number {
  return base64Length(length) + 2 * lineBreaks(length);
}

function lineBreaks(length: number): number {
  const wholeCharacters = Math.floor(length / 3) * 4;
  return wholeCharacters > 76 ? Math.floor(wholeCharacters / 76) : 0;
}

/** Writes base64Lines(bytes) into `out` from `at`; returns where it ended. */
function base64LinesInto(bytes: Buffer, out: Buffer, at: number): number {
  const breaks = lineBreaks(bytes.length);
  let lines = 0;
  for (let start = 0; start < bytes.length; start += BASE64_PIECE_BYTES) {
    const piece = bytes.toString("base64", start, Math.min(bytes.length, start + BASE64_PIECE_BYTES));
    for (let line = 0; line < piece.length; line += 76) {
      at += out.write(piece.slice(line, line + 76), at, "latin1");
      if (lines++ < breaks) at = out.writeUInt16BE(0x0d0a, at);
    }
  }
  return at;
}
