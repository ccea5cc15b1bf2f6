// Source kind "Content Export": the firm's export files, each a unit of work with its row in the file
// ledger. One file: download into staging as received (hashes checked on the way), decrypt and open
// the zip in a private temporary folder, check the whole file (pass 1), then hand its messages over in
// batches (pass 2). A file that is wrong in itself ends FAILED with the reason and gives no message.
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { PassThrough, Transform, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import {
  decryptToFile,
  DecryptionKeyError,
  ExportFileError,
  ExportReaders,
  type DecryptionKey,
  type ExportDelivery,
  type ExportReader,
  type ExportItem,
  type ExportParticipant,
} from "@/lib/content-export";
import { isMarkup } from "@/lib/convert";
import type { ExportFile } from "@/lib/generated/prisma/client";
import { exportFileBlobName, type StagingStore } from "@/lib/staging";
import { errorMessage } from "@/lib/errors";
import { logger } from "@/lib/logger";
import {
  markDone,
  markDownloaded,
  markVerified,
  markFailed,
  markParsed,
  remoteFileOf,
  startAttempt,
  syncExportFiles,
} from "./export-files";
import { capturedFileMatches } from "./captured-files";
import { withStreamErrors } from "./stream-errors";
import {
  SourceContentError,
  type ArchiveSource,
  type IncomingMessage,
  type Participant,
  type ServiceAccount,
  type SourceUnit,
} from "./source";

export function contentExportSource(options: {
  connectorId: string;
  runId: string;
  delivery: ExportDelivery;
  staging: StagingStore;
  /** The connector's PGP key, read only when a file is encrypted. */
  decryptionKey: () => Promise<DecryptionKey | null>;
  startDate: Date | null;
  /**
   * The connector's bot user, by login name (the export's LoginName): not a participant of the files
   * unless it chatted, and never a recipient.
   */
  serviceAccount?: ServiceAccount | null;
  /** Real-time capture runs beside the export: files it imported attached to their message are not imported again. */
  realtime?: boolean;
  /** The export reader thread's heap limit in MB (EXPORT_READER_HEAP_MB). */
  readerHeapMb?: number;
}): ArchiveSource {
  const { connectorId, staging } = options;
  const readers = new ExportReaders({ heapMb: options.readerHeapMb });
  // Unlocking the key (its passphrase's S2K) is slow: once per run, not once per file.
  let decryptionKey: Promise<DecryptionKey | null> | undefined;

  function unit(row: ExportFile): SourceUnit {
    return {
      async *batches(signal) {
        const dir = await mkdtemp(path.join(tmpdir(), "symphony-export-"));
        let content: ExportReader | undefined;
        try {
          await startAttempt(row.id, options.runId);
          const blobName = await downloaded(row, signal);
          const zipPath = await decryptedZip(blobName, dir);
          content = await readers.open(zipPath, { signal });
          await markParsed(row.id, {
            format: content.format,
            conversations: content.conversations,
            messagesInFile: content.messages,
          });
          const opened = content;
          const checkpoint = { kind: "export-file", exportFileId: row.id } as const;
          for await (const items of opened.batches()) {
            const attachedTo = options.realtime
              ? await capturedFileMatches(connectorId, items)
              : new Map<ExportItem, string>();
            yield { messages: items.map((item) => incoming(item, opened, attachedTo.get(item))), checkpoint };
          }
          await markDone(row.id);
        } catch (error) {
          const reason = fileFailure(error);
          if (reason === undefined) throw error;
          logger.warn({ connectorId, file: row.name, reason }, "export file failed");
          await markFailed(row.id, reason);
        } finally {
          await content?.close();
          await rm(dir, { recursive: true, force: true });
        }
      },
    };
  }

  /**
   * The staged copy of the file: downloaded again unless an earlier attempt of this file got it whole,
   * and every hash the source publishes now is that copy's. Its verifiedBy then names the hashes
   * published now (a copy read before its hash was published is verified by it once it is).
   */
  async function downloaded(row: ExportFile, signal?: AbortSignal): Promise<string> {
    const matched = row.status === "DOWNLOADED" || row.status === "PARSED" ? hashesMatchedByCopy(row) : undefined;
    if (row.blobName && matched && (await staging.exists(row.blobName))) {
      if (matched.join() !== row.verifiedBy.join()) await markVerified(row.id, matched);
      return row.blobName;
    }
    const blobName = exportFileBlobName(connectorId, row.id, row.name);
    const sha256 = createHash("sha256");
    const md5 = createHash("md5");
    let size = 0;
    const hashing = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        sha256.update(chunk);
        md5.update(chunk);
        size += chunk.length;
        done(null, chunk);
      },
    });
    const source = await options.delivery.open(remoteFileOf(row), signal);
    const through = new PassThrough();
    await Promise.all([
      pipeline(source, hashing, through),
      // A failed upload stops the download too (nothing else would read the rest of it).
      staging.saveFile(blobName, through).catch((error: unknown) => {
        source.destroy();
        throw error;
      }),
    ]);
    const got = { sha256: sha256.digest("hex"), md5: md5.digest("hex") };
    const verifiedBy = verify(row, got, size);
    await markDownloaded(row.id, {
      blobName,
      ...got,
      verifiedBy,
      sizeBytes: BigInt(size),
      receivedBytes: BigInt(size),
    });
    return blobName;
  }

  /** The zip on local disk: decrypted first when the file is an OpenPGP message. */
  async function decryptedZip(blobName: string, dir: string): Promise<string> {
    const received = path.join(dir, "received");
    await pipeline(await staging.openFile(blobName), createWriteStream(received, { mode: 0o600 }));
    if (await isZip(received)) return received;
    decryptionKey ??= options.decryptionKey();
    const key = await decryptionKey;
    if (!key) {
      throw new ExportFileError(
        "the file is encrypted (it is not a zip) and the connector has no PGP decryption key: add it in the Source step",
      );
    }
    const zipPath = path.join(dir, "export.zip");
    await decryptToFile(received, key, zipPath);
    await rm(received, { force: true });
    return zipPath;
  }

  return {
    parallelism: 1,
    async *units(signal) {
      const { files, stillWriting } = await syncExportFiles(connectorId, options.delivery, {
        startDate: options.startDate,
        signal,
        runId: options.runId,
      });
      if (stillWriting.length > 0)
        logger.info({ connectorId, stillWriting }, "export files still being written are left for the next run");
      if (files.length > 0) yield files.map(unit);
    },
    serviceAccount: () => Promise.resolve(options.serviceAccount ?? null),
    close: async () => {
      await readers.close();
      await options.delivery.close();
    },
  };
}

/**
 * Which published hashes the staged copy matches, or undefined when one is not the copy's (or no MD5
 * was kept of it), or the size listed now is not the copy's.
 */
function hashesMatchedByCopy(row: ExportFile): string[] | undefined {
  if (row.sizeBytes !== null && row.sizeBytes !== row.receivedBytes) return undefined;
  if (row.expectedSha256 !== null && row.expectedSha256 !== row.sha256) return undefined;
  if (row.expectedMd5 !== null && row.expectedMd5 !== row.md5) return undefined;
  return [row.expectedSha256 && "sha256", row.expectedMd5 && "md5"].filter((hash): hash is string => Boolean(hash));
}

/** Which published hashes the downloaded bytes matched; a mismatch fails the file. */
function verify(row: ExportFile, got: { sha256: string; md5: string }, size: number): string[] {
  const expectedSize = row.sizeBytes === null ? null : Number(row.sizeBytes);
  const sizeNote = expectedSize !== null && expectedSize !== size ? ` (${size} of ${expectedSize} bytes received)` : "";
  const verifiedBy: string[] = [];
  if (row.expectedSha256) {
    if (row.expectedSha256 !== got.sha256)
      throw new ExportFileError(
        `integrity check failed: the SHA-256 of the downloaded file is ${got.sha256}, Symphony published ${row.expectedSha256}${sizeNote}; nothing was imported from it and it is downloaded again next run`,
      );
    verifiedBy.push("sha256");
  }
  if (row.expectedMd5) {
    if (row.expectedMd5 !== got.md5)
      throw new ExportFileError(
        `integrity check failed: the MD5 of the downloaded file is ${got.md5}, its .md5 file says ${row.expectedMd5}${sizeNote}; nothing was imported from it and it is downloaded again next run`,
      );
    verifiedBy.push("md5");
  }
  if (expectedSize !== null && expectedSize !== size)
    throw new ExportFileError(`the download was cut short: ${size} of ${expectedSize} bytes received`);
  return verifiedBy;
}

async function isZip(file: string): Promise<boolean> {
  const handle = await open(file, "r");
  try {
    const head = Buffer.alloc(4);
    const { bytesRead } = await handle.read(head, 0, 4, 0);
    return bytesRead === 4 && head.readUInt32LE(0) === 0x04034b50;
  } finally {
    await handle.close();
  }
}

/** The reason a file fails as a whole, or undefined for an error a retry of the run may cure. */
function fileFailure(error: unknown): string | undefined {
  if (error instanceof ExportFileError) return error.message;
  if (error instanceof DecryptionKeyError) return `the connector's PGP key cannot decrypt this file: ${error.message}`;
  if (error instanceof Error && error.name === "ZodError") return `unexpected content: ${errorMessage(error)}`;
  return undefined;
}

function participant(person: ExportParticipant): Participant {
  return { userId: person.loginName, email: person.email, isExternal: !person.internal };
}

function person(person: ExportParticipant) {
  return {
    userId: person.loginName,
    email: person.email,
    displayName: person.displayName || person.email || person.loginName,
  };
}

/**
 * An entry of the export file, whose damage (sizes or CRC-32 that do not match its bytes, found as it
 * is read) or absence (a transfer that failed) fails only the message it belongs to: the file's other
 * messages are imported.
 */
async function openEntry(content: ExportReader, zipPath: string): Promise<Readable> {
  const damaged = (error: unknown) =>
    error instanceof ExportFileError
      ? new SourceContentError(`"${zipPath}" could not be read from the export file: ${error.message}`, {
          cause: error,
        })
      : (error as Error);
  const entry = await content.openAttachment(zipPath).catch((error: unknown) => {
    throw damaged(error);
  });
  return withStreamErrors(entry, damaged);
}

function incoming(item: ExportItem, content: ExportReader, attachedTo?: string): IncomingMessage {
  if (item.kind === "eml") {
    return {
      kind: "email",
      key: item.key,
      streamId: item.conversationId ?? "content-export",
      streamType: "EML",
      sentAt: item.sentAt,
      sender: item.sender ? person(item.sender) : { userId: "unknown" },
      participants: item.recipients.map(participant),
      open: () => openEntry(content, item.entryName),
    };
  }
  const attachments = item.attachments.map((attachment, index) => ({
    ref: { id: `file-${index + 1}`, name: attachment.name, size: attachment.size },
    zipPath: attachment.zipPath,
  }));
  return {
    kind: "chat",
    chat: {
      messageId: item.key,
      streamId: item.conversationId,
      streamType: item.conversationType,
      conversationName: item.conversationName,
      timestamp: item.sentAt,
      sender: person(item.sender),
      participants: item.recipients.map(person),
      presentationML: item.content,
      ...(!isMarkup(item.content) && item.content !== "" && { contentIsText: true }),
      attachments: attachments.map((attachment) => attachment.ref),
      initialMessageId: item.editOf,
    },
    participants: item.recipients.map(participant),
    ...(attachedTo !== undefined && { attachedTo }),
    openAttachment: async (ref): Promise<Readable> => {
      const attachment = attachments.find((candidate) => candidate.ref.id === ref.id);
      if (!attachment) throw new Error(`no attachment ${ref.id}`);
      return openEntry(content, attachment.zipPath);
    },
  };
}
