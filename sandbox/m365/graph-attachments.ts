import fs from "node:fs";
import { randomBytes } from "node:crypto";
import { z } from "zod";
import type { GraphCall, GraphRequest, GraphResponse } from "./graph-types";
import { graphError, ok } from "./graph-types";
import { graphBase } from "./graph-users";
import { parseJsonBody } from "./graph-json";
import { messageSize, sizeRefusal } from "./mailbox-policy";
import { newId, type Attachment, type Message } from "./state";

export const SMALL_ATTACHMENT_MAX_BYTES = 3 * 1024 * 1024;
export const LARGE_ATTACHMENT_MAX_BYTES = 150 * 1024 * 1024;
/** Outlook refuses an upload session for less than this (2 MiB, measured; Graph's docs say "3 MB or more"). */
export const UPLOAD_SESSION_MIN_BYTES = 2 * 1024 * 1024;
const UPLOAD_SESSION_LIFETIME_MS = 60 * 60 * 1000;

/**
 * Standard base64 with padding and nothing else (what z.base64() accepts), checked by decoding: z.base64()
 * scans a regex and runs atob, several ms for one 300 KB attachment, the sandbox's largest cost.
 */
export function isStrictBase64(text: string): boolean {
  if (text.length % 4 !== 0 || text.includes("-") || text.includes("_")) return false;
  const padding = text.endsWith("==") ? 2 : text.endsWith("=") ? 1 : 0;
  // Node's decoder skips what is not base64 and stops at "=": either way fewer bytes come out.
  return Buffer.from(text, "base64").length === (text.length / 4) * 3 - padding;
}

export const fileAttachmentSchema = z.object({
  "@odata.type": z.literal("#microsoft.graph.fileAttachment"),
  name: z.string().min(1).max(255),
  contentType: z.string().optional(),
  contentBytes: z.string().refine(isStrictBase64, "Invalid base64-encoded string"),
  isInline: z.boolean().optional(),
  contentId: z.string().nullable().optional(),
  size: z.number().int().optional(),
});

export function serializeAttachment(attachment: Attachment, withContent: boolean): Record<string, unknown> {
  return {
    "@odata.type": "#microsoft.graph.fileAttachment",
    "@odata.mediaContentType": attachment.contentType,
    id: attachment.id,
    lastModifiedDateTime: attachment.lastModifiedDateTime,
    name: attachment.name,
    contentType: attachment.contentType,
    size: attachment.size,
    isInline: attachment.isInline,
    contentId: attachment.contentId,
    contentLocation: null,
    ...(withContent ? { contentBytes: fs.readFileSync(attachment.file).toString("base64") } : {}),
  };
}

type Stored = { ok: true; attachment: Attachment } | { ok: false; response: GraphResponse };

/** Writes a fileAttachment's bytes to disk (never kept in the heap). */
export function storeFileAttachment(call: GraphCall, input: z.output<typeof fileAttachmentSchema>): Stored {
  const bytes = Buffer.from(input.contentBytes, "base64");
  if (bytes.length > SMALL_ATTACHMENT_MAX_BYTES) {
    return {
      ok: false,
      response: graphError(
        400,
        "BadRequest",
        "Maximum request length exceeded. Use an upload session for attachments of 3 MB or more.",
        call,
      ),
    };
  }
  const file = call.ctx.state.attachmentFile();
  fs.writeFileSync(file, bytes);
  return {
    ok: true,
    attachment: {
      id: newId(),
      name: input.name,
      contentType: input.contentType ?? "application/octet-stream",
      size: bytes.length,
      isInline: input.isInline ?? false,
      contentId: input.contentId ?? null,
      lastModifiedDateTime: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
      file,
    },
  };
}

export function addAttachment(call: GraphCall, req: GraphRequest, message: Message): GraphResponse {
  const parsed = parseJsonBody(call, req, fileAttachmentSchema.strict());
  if (!parsed.ok) return parsed.response;
  const tooLarge = sizeRefusalFor(call, message, parsed.value.contentBytes.length);
  if (tooLarge) return tooLarge;
  const stored = storeFileAttachment(call, parsed.value);
  if (!stored.ok) return stored.response;
  message.attachments.push(stored.attachment);
  call.ctx.state.messages.save(message);
  return ok(
    {
      "@odata.context": `${graphBase(call)}/$metadata#users('${message.userId}')/messages('${message.id}')/attachments/$entity`,
      ...serializeAttachment(stored.attachment, false),
    },
    201,
  );
}

export function listAttachments(call: GraphCall, message: Message): GraphResponse {
  return ok({
    "@odata.context": `${graphBase(call)}/$metadata#users('${message.userId}')/messages('${message.id}')/attachments`,
    value: message.attachments.map((a) => serializeAttachment(a, true)),
  });
}

export function getAttachment(call: GraphCall, message: Message, attachmentId: string, raw: boolean): GraphResponse {
  const attachment = message.attachments.find((a) => a.id === attachmentId);
  if (!attachment)
    return graphError(404, "ErrorItemNotFound", "The specified object was not found in the store.", call);
  if (raw)
    return {
      status: 200,
      headers: {},
      file: { path: attachment.file, contentType: attachment.contentType, size: attachment.size },
    };
  return ok({
    "@odata.context": `${graphBase(call)}/$metadata#users('${message.userId}')/messages('${message.id}')/attachments/$entity`,
    ...serializeAttachment(attachment, true),
  });
}

const uploadSessionSchema = z.object({
  AttachmentItem: z.object({
    attachmentType: z.literal("file"),
    name: z.string().min(1).max(255),
    size: z.number().int().min(1),
    contentType: z.string().optional(),
    isInline: z.boolean().optional(),
    contentId: z.string().optional(),
  }),
});

export function createUploadSession(call: GraphCall, req: GraphRequest, message: Message): GraphResponse {
  const parsed = parseJsonBody(call, req, uploadSessionSchema);
  if (!parsed.ok) return parsed.response;
  const item = parsed.value.AttachmentItem;
  if (item.size < UPLOAD_SESSION_MIN_BYTES) {
    return graphError(
      400,
      "ErrorAttachmentSizeShouldNotBeLessThanMinimumSize",
      `The attachment size ${item.size} is less than the minimum of ${UPLOAD_SESSION_MIN_BYTES} bytes for an upload session. Attach it with a POST to the attachments collection.`,
      call,
    );
  }
  // The message's size limit is not checked here: Exchange refuses the chunk that passes it (upload.ts).
  if (item.size > LARGE_ATTACHMENT_MAX_BYTES) {
    return graphError(
      400,
      "ErrorAttachmentSizeLimitExceeded",
      `The attachment size ${item.size} exceeds the maximum of ${LARGE_ATTACHMENT_MAX_BYTES} bytes.`,
      call,
    );
  }
  const { state } = call.ctx;
  const id = newId();
  const token = randomBytes(32).toString("base64url");
  const file = state.attachmentFile();
  fs.writeFileSync(file, Buffer.alloc(0));
  const expiresAt = Date.now() + UPLOAD_SESSION_LIFETIME_MS;
  state.uploadSessions.set(token, {
    id,
    token,
    appId: call.appId,
    userId: message.userId,
    messageId: message.id,
    name: item.name,
    contentType: item.contentType ?? "application/octet-stream",
    size: item.size,
    isInline: item.isInline ?? false,
    contentId: item.contentId ?? null,
    received: 0,
    expiresAt,
    file,
  });
  const user = state.users.get(message.userId)!;
  const uploadUrl =
    `${call.ctx.uploadOrigin()}/api/v2.0/Users('${user.id}@${state.options.tenantId}')/Messages('${encodeURIComponent(message.id)}')` +
    `/AttachmentSessions('${encodeURIComponent(id)}')?authtoken=${token}`;
  return ok(
    {
      "@odata.context": `${graphBase(call)}/$metadata#microsoft.graph.uploadSession`,
      uploadUrl,
      expirationDateTime: new Date(expiresAt).toISOString(),
      nextExpectedRanges: ["0-"],
    },
    201,
  );
}

/** ErrorMessageSizeExceeded when adding `added` encoded bytes takes the message past its mailbox's MaxReceiveSize. */
function sizeRefusalFor(call: GraphCall, message: Message, added: number): GraphResponse | null {
  const user = call.ctx.state.users.get(message.userId);
  return user ? sizeRefusal(call, user, messageSize(message) + added) : null;
}
