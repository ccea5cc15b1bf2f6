// What the pipeline asks of a source (the conversations of the service account over REST, the firm's
// Content Export files, later a real-time feed): units of work since their checkpoints, each read in
// batches of messages with the people who receive them. Convert, stage, ledger and import are the same
// for every source.
import type { Readable } from "node:stream";
import type { AttachmentRef, ChatMessage } from "@/lib/convert";

/** Someone a message reaches; mapped to a mailbox by lib/pipeline/recipients.ts. */
export type Participant = {
  userId: string | number;
  email?: string | null;
  isExternal?: boolean | null;
  company?: string | null;
};

/** A chat message the converter turns into an email, or an email the source already made (EML export). */
export type IncomingMessage =
  | {
      kind: "chat";
      chat: ChatMessage;
      /** Who receives it: the sender included. */
      participants: Participant[];
      /** The bytes of one of chat.attachments; a SourceContentError fails only this message. */
      openAttachment(ref: AttachmentRef): Promise<Readable>;
      /** Set when the source could not read the message (Symphony's diagnostic): its items are FAILED with it. */
      failure?: string;
      /**
       * Set when the message's files also come from elsewhere (the daily export beside real time): a file
       * Symphony refuses does not fail the message, which is imported without its files, this on its items.
       */
      filesElsewhere?: string;
      /**
       * On an export's file-transfer record: the key of the captured message its file was already imported
       * with. Nothing is imported again; its items are SKIPPED, saying so.
       */
      attachedTo?: string;
    }
  | {
      kind: "email";
      /** Unique per connector: the Message-ID, else a hash of the bytes. */
      key: string;
      streamId: string;
      streamType: string;
      sentAt: Date;
      sender: { userId: string; email?: string; displayName?: string };
      participants: Participant[];
      open(): Promise<Readable>;
    };

/**
 * Where a batch moves its unit's checkpoint, in the same transaction as the batch's messages. A feed
 * (the Datahose) has none in the ledger: its batch is acknowledged to Symphony once recorded.
 */
export type Checkpoint =
  | { kind: "stream"; streamId: string; at: Date; messageId: string }
  | { kind: "export-file"; exportFileId: bigint }
  | { kind: "feed" };

export type SourceBatch = { messages: IncomingMessage[]; checkpoint: Checkpoint };

export interface SourceUnit {
  /** Reads the unit from its checkpoint. A unit that fails by itself (a bad export file) records why and ends. */
  batches(signal?: AbortSignal): AsyncIterable<SourceBatch>;
}

/**
 * The account the connector reads Symphony as (the bot user): never a recipient, whichever
 * conversations it sits in, so nothing is imported into (or skipped for) its mailbox.
 */
export type ServiceAccount = {
  /** The id participants carry: the Symphony user id over REST, the login name in Content Export. */
  userId: string;
  email?: string;
};

export interface ArchiveSource {
  /** The units with something new, a page at a time. */
  units(signal?: AbortSignal): AsyncIterable<SourceUnit[]>;
  /** Who the connector reads as, when the source knows (see ServiceAccount). */
  serviceAccount(): Promise<ServiceAccount | null>;
  /** Units read at once (each keeps its own checkpoint). */
  parallelism: number;
  close(): Promise<void>;
}

/** Something wrong with one message's content (an attachment the source cannot serve): that message fails alone. */
export class SourceContentError extends Error {
  override name = "SourceContentError";
}

/** A file of a message that Symphony will not serve (refused to this account, or gone). */
export class AttachmentUnavailableError extends SourceContentError {
  override name = "AttachmentUnavailableError";
}
