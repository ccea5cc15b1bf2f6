import type { Readable } from "node:stream";
import { z } from "zod";
import { streamTypeSchema, type StreamType } from "@/lib/stream-types";

/** Symphony ids are base64 (plain or URL-safe): printable ASCII, never anything that could break a header. */
export const symphonyIdSchema = z.string().regex(/^[\x21-\x7e]{1,256}$/, "must be 1-256 printable ASCII characters");

export const personSchema = z.object({
  userId: z.string().min(1),
  /** The address Symphony knows the person by. */
  email: z.string().optional(),
  displayName: z.string(),
  /**
   * The Microsoft 365 address the person is mapped to: From and To show it (a content search by the
   * mailbox finds the item); the Symphony address and user id stay in X-Symphony-* headers.
   */
  mappedAddress: z.string().optional(),
});

export const attachmentRefSchema = z.object({
  id: symphonyIdSchema,
  name: z.string(),
  size: z.number().int().nonnegative(),
  contentType: z.string().optional(),
});

/**
 * The post a message shares (Symphony's `sharedMessage`): shown below the message, its files named.
 * Its files belong to the original post (archived with it on its author's wall), not to this item.
 */
export const sharedPostSchema = z.object({
  /** Symphony's id of the original post; named in a header only when it is a plain id. */
  messageId: z.string().optional(),
  sender: personSchema,
  timestamp: z.date().optional(),
  presentationML: z.string(),
  data: z.string().optional(),
  files: z.array(z.object({ name: z.string(), size: z.number().int().nonnegative().optional() })),
  /** Why the post cannot be shown as Symphony sent it; `presentationML` then holds it as sent (JSON). */
  unreadable: z.string().optional(),
});

/**
 * The converter's input model: one chat message, independent of Symphony's wire format
 * (the pipeline maps Symphony's v4 message JSON into it).
 */
export const chatMessageSchema = z.object({
  messageId: symphonyIdSchema,
  streamId: symphonyIdSchema,
  streamType: streamTypeSchema,
  conversationName: z.string().optional(),
  timestamp: z.date(),
  sender: personSchema,
  participants: z.array(personSchema),
  presentationML: z.string(),
  /** `presentationML` holds plain text (a Content Export record's), rendered as written. */
  contentIsText: z.boolean().optional(),
  data: z.string().optional(),
  attachments: z.array(attachmentRefSchema),
  parentMessageId: symphonyIdSchema.optional(),
  initialMessageId: symphonyIdSchema.optional(),
  initialTimestamp: z.date().optional(),
  shared: sharedPostSchema.optional(),
  /** Symphony sent no time: says which time `timestamp` is instead (shown in the item and its header). */
  timeNote: z.string().max(500).optional(),
});

export type Person = z.infer<typeof personSchema>;
export type AttachmentRef = z.infer<typeof attachmentRefSchema>;
export type { StreamType };
export type ChatMessage = z.infer<typeof chatMessageSchema>;
export type SharedPost = z.infer<typeof sharedPostSchema>;

export interface EmailAddress {
  name: string;
  address: string;
}

/** One converted item: what the MIME and the Graph JSON are both built from. */
export interface EmailModel {
  from: EmailAddress;
  to: EmailAddress[];
  /** Cc of an email the source gave as MIME (Content Export EML); chat messages have none. */
  cc?: EmailAddress[];
  subject: string;
  date: Date;
  html: string;
  text: string;
  /** RFC 5322 Message-ID, angle brackets included, derived from the Symphony message id. */
  messageId: string;
  inReplyTo?: string;
  references: string[];
  /** X-Symphony-* headers (message, stream, stream type, parent and initial message ids). */
  headers: Record<string, string>;
  /** Every attachment part in order: the `originals` first, then the message's own attachments. */
  attachments: AttachmentRef[];
  /**
   * Content the converter attaches itself: the original PresentationML (and `data`), byte for byte,
   * when the body is not rendered (too large or too complex; the body then says so).
   */
  originals?: OriginalContent[];
  /** Why the body is a notice instead of the rendered message. */
  notRendered?: string;
}

export interface OriginalContent {
  ref: AttachmentRef;
  content: string;
}

/** An attachment's content, opened only when the MIME is written. */
export interface AttachmentSource {
  ref: AttachmentRef;
  open(): Readable;
}
