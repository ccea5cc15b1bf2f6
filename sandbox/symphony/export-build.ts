// The zip of one export file, good or with one of the content faults an importer must refuse.
import { attachmentBytes, type AttachmentInfo } from "./attachments";
import { actianceXml, attachmentPath, xmlEscape } from "./export-actiance";
import { emlMessage } from "./export-eml";
import type { ConversationPeriod, ExportModel } from "./export-model";
import { rawEntry, rawZip, zipBombEntry, zipEntries, type ZipEntry } from "./export-zip";

export const FAULTS = [
  "truncated",
  "hash-mismatch",
  "wrong-key",
  "zip-bomb",
  "path-traversal",
  "malformed-xml",
  "xxe",
  "being-written",
  "expired-url",
  "symphony-xml",
  "damaged-transfer",
  "failed-transfer",
  "no-integrity-hash",
  "no-upload-time",
] as const;
export type Fault = (typeof FAULTS)[number];

/** Faults that make an Actiance file whatever the configured format (they are faults of its XML). */
export const XML_FAULTS: readonly Fault[] = ["malformed-xml", "xxe", "symphony-xml"];
/** Faults of an Actiance file: its XML's, and a file transfer's entry damaged in an intact zip. */
export const ACTIANCE_FAULTS: readonly Fault[] = [...XML_FAULTS, "damaged-transfer", "failed-transfer"];

/**
 * The file transfer "damaged-transfer" and "failed-transfer" are about: the period's first that has
 * bytes. Damaged: its stored bytes no longer match the CRC-32 the zip's directory gives for it
 * (PKWARE's APPNOTE 4.4.7), while the directory and every other entry stay intact. Failed: its
 * FileTransferEnded says `<Status>Failed</Status>` and the zip holds no bytes for it, as Mattermost's
 * Actiance exporter writes a transfer that failed (the emitter specs/symphony-content-export.md names
 * for the structure: server/enterprise/message_export/actiance_export, "Completed" or "Failed").
 */
export function damagedTransfer(conversations: ConversationPeriod[]): AttachmentInfo | undefined {
  for (const c of conversations)
    for (const m of c.messages) for (const info of m.message.attachments) if (info.size > 0) return info;
  return undefined;
}

export type ZipSpec = {
  format: "ACTIANCE" | "EML";
  period: { start: number; end: number };
  unit: "s" | "ms";
  messageIds: boolean;
  /** The file name without `.zip` / `.zip.pgp`: the Actiance XML is `<baseName>.xml`. */
  baseName: string;
  fault: Fault | null;
};

async function collect(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks);
}

async function attachmentsOf(
  seed: string,
  conversations: ConversationPeriod[],
): Promise<Map<string, { info: AttachmentInfo; bytes: Buffer }>> {
  const found = new Map<string, { info: AttachmentInfo; bytes: Buffer }>();
  for (const c of conversations)
    for (const m of c.messages)
      for (const info of m.message.attachments)
        found.set(info.id, { info, bytes: await collect(attachmentBytes(seed, info)) });
  return found;
}

/** Cut in the middle of an element past the middle of the document. */
function malformed(xml: string): string {
  const at = xml.indexOf("<Content>", Math.floor(xml.length / 2));
  const cut = at === -1 ? xml.lastIndexOf("<Content>") : at;
  return xml.slice(0, cut === -1 ? Math.floor(xml.length / 2) : cut + 12);
}

function withExternalEntity(xml: string): string {
  const doctype = '<!DOCTYPE FileDump [\n  <!ENTITY xxe SYSTEM "file:///etc/passwd">\n]>';
  const declared = xml.replace("<FileDump>", `${doctype}\n<FileDump>`);
  return /<Content>[^<]*<\/Content>/.test(declared)
    ? declared.replace(/<Content>[^<]*<\/Content>/, "<Content>&xxe;</Content>")
    : declared.replace("<FileDump>", "<FileDump>&xxe;");
}

/** A plausible Symphony XML export (its schema is not public): not something to parse as Actiance. */
function symphonyXml(conversations: ConversationPeriod[]): string {
  const records = conversations.flatMap((c) =>
    c.messages.map(
      (m) =>
        `  <Record><RecordId>${m.message.messageId}</RecordId><RecordType>message</RecordType><ThreadId>${c.stream.id}</ThreadId>` +
        `<CreationDate>${m.time}</CreationDate><Content>${xmlEscape(m.message.message)}</Content></Record>`,
    ),
  );
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<SymphonyExport version="1.0">',
    ...records,
    "</SymphonyExport>",
    "",
  ].join("\n");
}

/** A file transfer of the bomb, so even an importer that reads only referenced entries meets it. */
function referencingBomb(xml: string, conversations: ConversationPeriod[], path: string, unit: "s" | "ms"): string {
  const first = conversations[0]?.messages[0];
  if (!first) return xml;
  const time = unit === "s" ? Math.floor(first.time / 1000) : first.time;
  const transfer =
    `<FileTransferEnded><LoginName>${xmlEscape(first.sender.userName)}</LoginName><DateTimeUTC>${time}</DateTimeUTC>` +
    `<UserFileName>zeros.bin</UserFileName><FileName>${path}</FileName><Status>Completed</Status></FileTransferEnded>`;
  return xml.replace("</Conversation>", `${transfer}\n</Conversation>`);
}

/** The transfer of `path` ended as Failed (its FileTransferStarted stays Started). */
function withFailedTransfer(xml: string, path: string): string {
  const ended = `<FileName>${xmlEscape(path)}</FileName><Status>Completed</Status></FileTransferEnded>`;
  return xml.replace(ended, `<FileName>${xmlEscape(path)}</FileName><Status>Failed</Status></FileTransferEnded>`);
}

export async function buildZip(model: ExportModel, spec: ZipSpec): Promise<Buffer> {
  const conversations = model.conversations(spec.period.start, spec.period.end);
  const attachments = await attachmentsOf(model.org.seed, conversations);
  const format = spec.fault && ACTIANCE_FAULTS.includes(spec.fault) ? "ACTIANCE" : spec.format;
  const bombPath = "files/zeros/zeros.bin";

  const entries: ZipEntry[] = [];
  if (format === "EML") {
    for (const c of conversations)
      entries.push({
        name: `${c.stream.id}.eml`,
        data: emlMessage(c, (id) => attachments.get(id)!.bytes),
        compress: true,
      });
  } else {
    let xml = actianceXml(conversations, { unit: spec.unit, messageIds: spec.messageIds });
    if (spec.fault === "malformed-xml") xml = malformed(xml);
    if (spec.fault === "xxe") xml = withExternalEntity(xml);
    if (spec.fault === "symphony-xml") xml = symphonyXml(conversations);
    if (spec.fault === "zip-bomb") xml = referencingBomb(xml, conversations, bombPath, spec.unit);
    const failed = spec.fault === "failed-transfer" ? damagedTransfer(conversations) : undefined;
    const failedPath = failed && attachmentPath(failed);
    if (failedPath) xml = withFailedTransfer(xml, failedPath);
    entries.push({ name: `${spec.baseName}.xml`, data: Buffer.from(xml, "utf8"), compress: true });
    for (const { info, bytes } of attachments.values())
      if (attachmentPath(info) !== failedPath)
        entries.push({ name: attachmentPath(info), data: bytes, compress: false });
  }

  if (spec.fault === "path-traversal")
    return rawZip([
      ...entries.map(rawEntry),
      rawEntry({
        name: "../../evil.txt",
        data: Buffer.from("written outside the extraction folder\n"),
        compress: false,
      }),
    ]);
  if (spec.fault === "zip-bomb") return rawZip([...entries.map(rawEntry), zipBombEntry(bombPath)]);
  if (spec.fault === "damaged-transfer") {
    const damaged = damagedTransfer(conversations);
    return rawZip(
      entries.map(rawEntry).map((raw) => {
        if (!damaged || raw.name !== attachmentPath(damaged)) return raw;
        const stored = Buffer.from(raw.stored);
        stored[stored.length >> 1]! ^= 0xff;
        return { ...raw, stored };
      }),
    );
  }
  return zipEntries(entries);
}
