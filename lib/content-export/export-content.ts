import type { Readable } from "node:stream";
import { indexActiance, readActianceItems, type ActianceIndex, type OpenXml } from "./actiance";
import { readEmlItem } from "./eml";
import { ExportFileError, quoted } from "./errors";
import type { ExportEmlItem, ExportFormat, ExportItem } from "./types";
import { DEFAULT_XML_LIMITS, readXmlRootName, type XmlLimits } from "./xml-stream";
import { openExportZip, type ExportZip, type ZipLimits } from "./zip";

export const SYMPHONY_XML_UNSUPPORTED =
  "Symphony XML is not supported yet: choose Actiance or EML in the Admin Portal's Export Content settings";

/** An export zip checked as a whole (pass 1): its items can be read (pass 2) without surprises. */
export type ExportContent = {
  format: ExportFormat;
  conversations: number;
  /** How many items items() yields: Actiance messages and file transfers, or .eml files. */
  messages: number;
  items(): AsyncIterable<ExportItem>;
  /** An entry's bytes: an attachment's zipPath, or an EML item's entryName. */
  openAttachment(zipPath: string): Promise<Readable>;
  close(): Promise<void>;
};

export type ExportContentLimits = Partial<ZipLimits> & Partial<XmlLimits>;

/**
 * Opens a decrypted export zip, tells its format from its content (never from its name) and checks
 * all of it before anything is handed on: a file that is wrong anywhere throws an ExportFileError.
 */
export async function openExportContent(zipPath: string, limits: ExportContentLimits = {}): Promise<ExportContent> {
  const zip = await openExportZip(zipPath, limits);
  try {
    const xmlLimits: XmlLimits = { ...DEFAULT_XML_LIMITS, ...limits };
    // Attachments live in folders (files/<id>/<name>); the content is at the root of the zip.
    const atRoot = zip.entries.filter((entry) => !entry.name.includes("/"));
    const actiance: string[] = [];
    let otherXml = false;
    for (const entry of atRoot.filter((candidate) => /\.xml$/i.test(candidate.name))) {
      if ((await readXmlRootName(await zip.openEntry(entry.name))) === "FileDump") actiance.push(entry.name);
      else otherXml = true;
    }
    if (actiance.length > 0) return await openActiance(zip, actiance, xmlLimits);
    if (otherXml) throw new ExportFileError(SYMPHONY_XML_UNSUPPORTED);
    const eml = atRoot.filter((entry) => /\.eml$/i.test(entry.name));
    if (eml.length > 0) return await openEml(zip, eml);
    const names = zip.entries.slice(0, 5).map((entry) => quoted(entry.name, 80));
    throw new ExportFileError(
      zip.entries.length === 0
        ? "the zip is empty"
        : `the zip holds neither an Actiance XML file nor .eml files at its root (its entries: ${names.join(", ")}${zip.entries.length > 5 ? ", …" : ""})`,
    );
  } catch (error) {
    zip.close();
    throw error;
  }
}

async function openActiance(zip: ExportZip, xmlNames: string[], limits: XmlLimits): Promise<ExportContent> {
  const sizes = new Map(zip.entries.map((entry) => [entry.name, entry.uncompressedSize]));
  const files: { open: OpenXml; index: ActianceIndex }[] = [];
  for (const name of xmlNames) {
    const open = () => zip.openEntry(name);
    const index = await indexActiance(open, limits);
    for (const fileName of index.fileNames) {
      // A transfer that failed, or never ended, may have no bytes: only its message fails, when it is
      // opened, as one whose entry is damaged does. A completed one without them is a broken file.
      if (!sizes.has(fileName) && !index.unfinishedTransfers.has(fileName)) {
        throw new ExportFileError(`${quoted(name)} refers to the file ${quoted(fileName)}, which is not in the zip`);
      }
    }
    files.push({ open, index });
  }
  return {
    format: "ACTIANCE",
    conversations: files.reduce((sum, { index }) => sum + index.conversations.length, 0),
    messages: files.reduce((sum, { index }) => sum + index.messages, 0),
    async *items() {
      for (const { open, index } of files)
        yield* readActianceItems(open, index, (path) => sizes.get(path) ?? 0, limits);
    },
    openAttachment: (path) => zip.openEntry(path),
    close: () => Promise.resolve(zip.close()),
  };
}

async function openEml(zip: ExportZip, entries: ExportZip["entries"]): Promise<ExportContent> {
  const items: ExportEmlItem[] = [];
  for (const entry of entries) {
    items.push(await readEmlItem(entry.name, entry.uncompressedSize, () => zip.openEntry(entry.name)));
  }
  return {
    format: "EML",
    conversations: items.length,
    messages: items.length,
    // eslint-disable-next-line @typescript-eslint/require-await
    async *items() {
      yield* items;
    },
    openAttachment: (path) => zip.openEntry(path),
    close: () => Promise.resolve(zip.close()),
  };
}
