import type { Readable } from "node:stream";
import { readAllBytes } from "@/lib/async";

/** One attachment of an item; `open` is called again when an upload has to start over. */
export type ImportAttachment = {
  name: string;
  contentType: string;
  /** Exact byte length of what `open` yields. */
  size: number;
  isInline: boolean;
  contentId?: string;
  open(): Readable | Promise<Readable>;
};

/** What the pipeline hands the writer for one (message, mailbox) pair. */
export type ImportItem = {
  /** Idempotency key, stored on the Graph message and looked up on retry. */
  key: string;
  /** The Graph JSON message built by lib/convert (toGraphMessage), without attachments and key. */
  graph: object;
  attachments: ImportAttachment[];
  /** How the item differs from the message as staged (its log reason once imported), if it does. */
  note?: string;
};

export type ImportResult = {
  graphMessageId: string;
  /** Graph requests this import cost (sub-requests of a $batch counted one by one, retries included). */
  requests: number;
  /** True when an earlier attempt had already created the message (found by key). */
  existing: boolean;
  /**
   * Copies of the message deleted after a retried create: a create that timed out may still land, and
   * its retry then makes a second item with the same key.
   */
  duplicatesRemoved: number;
};

/** An attachment's bytes in one Buffer: a staged one is a single part, handed on without a copy. */
export async function readAll(attachment: ImportAttachment): Promise<Buffer> {
  return readAllBytes(await attachment.open());
}
