import { exceedsUtf8Bytes, formatBytes, MAX_HTML_BYTES } from "./limits";
import { noticeHtml } from "./render-html";
import type { AttachmentRef, EmailModel } from "./types";

/**
 * An email read back from MIME whose body is larger than an archived item shows, as the item is
 * imported: a short notice as its body, and the whole body attached first, as UTF-8, as
 * email-body.html (or .txt for a text body). A Content Export EML holds a conversation's day, which a
 * busy room can make larger than the 4 MB Graph takes in one request, so its create would be refused.
 * Undefined when the body fits; a chat message's body always does (the converter keeps it within
 * MAX_HTML_BYTES, attaching the original instead).
 */
export function withBodyAttached(email: EmailModel): { email: EmailModel; body: Buffer } | undefined {
  const isHtml = email.html !== "";
  const content = isHtml ? email.html : email.text;
  if (!exceedsUtf8Bytes(content, MAX_HTML_BYTES)) return undefined;
  const body = Buffer.from(content, "utf8");
  const name = isHtml ? "email-body.html" : "email-body.txt";
  const ref: AttachmentRef = {
    id: "email-body",
    name,
    size: body.length,
    contentType: `${isHtml ? "text/html" : "text/plain"}; charset=utf-8`,
  };
  const reason = `its body is ${formatBytes(body.length)}, more than the ${formatBytes(MAX_HTML_BYTES)} an archived item shows`;
  const text = `This email's body is not shown here: ${reason}. It is attached whole as ${name}.`;
  return {
    email: { ...email, html: noticeHtml(text), text, attachments: [ref, ...email.attachments], notRendered: reason },
    body,
  };
}

/** Text of a staged MIME read back at most: mailparser holds a text part whole, several times over. */
export const MAX_TEXT_READ_BACK_BYTES = 8 * 1024 * 1024;

/** The name a staged copy too large to read back is attached under. */
export const WHOLE_COPY_FILE = "symphony-export-message.eml";

/**
 * The item of a staged MIME whose text is larger than the worker reads back (an export's day of a
 * very busy room, or a hostile file): its headers (readStagedHeaders), a short notice as its body, and
 * the staged copy itself attached as it was exported, `size` bytes. Nothing is left out.
 */
export function withCopyAttached(headers: EmailModel, size: number): EmailModel {
  const reason = `its text is larger than the ${formatBytes(MAX_TEXT_READ_BACK_BYTES)} the archive reads back`;
  const text = `This message is not shown here: ${reason}. It is attached whole, as it was exported, as ${WHOLE_COPY_FILE}.`;
  const ref: AttachmentRef = { id: "whole-copy", name: WHOLE_COPY_FILE, size, contentType: "message/rfc822" };
  return { ...headers, html: noticeHtml(text), text, attachments: [ref], notRendered: reason };
}
