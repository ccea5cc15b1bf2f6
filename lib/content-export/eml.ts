import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import type { AddressObject, EmailAddress } from "mailparser";
import { ExportFileError, quoted } from "./errors";
import type { ExportEmlItem, ExportParticipant } from "./types";

const MAX_HEADER_BYTES = 1024 * 1024;
/**
 * Characters of a subject kept with an item while its file is indexed (the email's subject is cut
 * to 255 anyway): a file's items are all held at once, so 1 MiB subjects must not be.
 */
const MAX_SUBJECT_CHARS = 1000;
/** RFC 5322's line limit: a longer Message-ID is no id a mail system gave, and is keyed by its hash. */
const MAX_MESSAGE_ID_CHARS = 998;

/**
 * The item of one .eml entry from its headers alone: the body and its attachments are never parsed
 * nor buffered (the bytes are read once more, whole, only to hash a message without a Message-ID).
 */
export async function readEmlItem(
  entryName: string,
  size: number,
  openEntry: () => Promise<Readable>,
): Promise<ExportEmlItem> {
  const where = `the e-mail ${quoted(entryName)}`;
  const stream = await openEntry();
  try {
    const { header, bytesRead } = await readHeaderBlock(stream, where);
    const { simpleParser } = await import("mailparser");
    const mail = await simpleParser(header, { skipHtmlToText: true, skipTextToHtml: true, skipImageLinks: true });
    const dateLine = mail.headerLines.find((line) => line.key === "date")?.line;
    const sentAt = dateLine === undefined ? undefined : new Date(dateLine.slice(dateLine.indexOf(":") + 1).trim());
    if (!sentAt || Number.isNaN(sentAt.getTime())) throw new ExportFileError(`${where} has no readable Date header`);
    const from = addressesOf(mail.from);
    const streamId = headerText(mail.headers.get("x-symphony-stream-id"));
    // The Message-ID without its angle brackets: the id itself, as Symphony message ids are stored.
    const messageId = mail.messageId?.trim().replace(/^<(.*)>$/, "$1");
    const key =
      messageId && messageId.length > MAX_MESSAGE_ID_CHARS
        ? `ce-${createHash("sha256").update(messageId).digest("hex")}`
        : messageId || `ce-${await sha256Of(bytesRead, stream)}`;
    return {
      kind: "eml",
      key,
      entryName,
      ...(streamId !== undefined && { conversationId: streamId }),
      sentAt,
      ...(from[0] !== undefined && { sender: from[0] }),
      recipients: dedupe([...from, ...addressesOf(mail.to), ...addressesOf(mail.cc)]),
      size,
      ...(mail.subject !== undefined && { subject: mail.subject.slice(0, MAX_SUBJECT_CHARS) }),
    };
  } finally {
    stream.destroy();
  }
}

/** The bytes up to the blank line that ends the headers (or the whole entry when it has no body). */
async function readHeaderBlock(stream: Readable, where: string) {
  let bytesRead = Buffer.alloc(0);
  // The stream stays open: a message without a Message-ID is hashed from where this stops.
  for await (const chunk of stream.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
    bytesRead = Buffer.concat([bytesRead, chunk]);
    const end = headerEnd(bytesRead);
    if (end !== -1) return { header: bytesRead.subarray(0, end), bytesRead };
    if (bytesRead.length > MAX_HEADER_BYTES) throw new ExportFileError(`${where} has more than 1 MiB of headers`);
  }
  return { header: bytesRead, bytesRead };
}

function headerEnd(bytes: Buffer): number {
  const crlf = bytes.indexOf("\r\n\r\n");
  const lf = bytes.indexOf("\n\n");
  const ends = [crlf === -1 ? -1 : crlf + 4, lf === -1 ? -1 : lf + 2].filter((end) => end !== -1);
  return ends.length === 0 ? -1 : Math.min(...ends);
}

async function sha256Of(first: Buffer, rest: Readable): Promise<string> {
  const hash = createHash("sha256").update(first);
  for await (const chunk of rest as AsyncIterable<Buffer>) hash.update(chunk);
  return hash.digest("hex");
}

function addressesOf(header: AddressObject | AddressObject[] | undefined): ExportParticipant[] {
  const objects = header === undefined ? [] : Array.isArray(header) ? header : [header];
  const flat = (list: EmailAddress[]): EmailAddress[] => list.flatMap((a) => (a.group ? flat(a.group) : [a]));
  return flat(objects.flatMap((object) => object.value)).flatMap(({ address, name }) => {
    const email = address?.trim().toLowerCase();
    if (!email) return [];
    return [{ loginName: email, email, internal: true, ...(name.trim() && { displayName: name.trim() }) }];
  });
}

function dedupe(people: ExportParticipant[]): ExportParticipant[] {
  const byLogin = new Map<string, ExportParticipant>();
  for (const person of people) if (!byLogin.has(person.loginName)) byLogin.set(person.loginName, person);
  return [...byLogin.values()];
}

function headerText(value: unknown): string | undefined {
  const text = typeof value === "string" ? value.trim() : undefined;
  return text ? text : undefined;
}
