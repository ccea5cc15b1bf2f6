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
