// EML export: one RFC 5322 message per conversation and period, its transcript as the text body and
// the period's files as attachments (Arctera's EML collector notes: no useful subject, no join or
// room events).
import { randomBytes } from "node:crypto";
import type { Person } from "../org";
import type { ConversationPeriod } from "./export-model";

/** Message-ID without angle brackets; the expected item's key. */
export function emlMessageId(c: ConversationPeriod): string {
  return `${c.stream.id}.${c.start}.${c.end}@content-export.symphony.invalid`;
}

/** Everyone present at some time of the period (the To header). */
export function emlParticipants(c: ConversationPeriod): Person[] {
  return c.stays.map((s) => s.person);
}

/** RFC 2047 encoded word when the text is not plain ASCII. */
function headerText(text: string): string {
  return /^[\x20-\x7e]*$/.test(text) ? text : `=?UTF-8?B?${Buffer.from(text, "utf8").toString("base64")}?=`;
}

function address(person: Person): string {
  const name = /^[\x20-\x7e]*$/.test(person.displayName)
    ? `"${person.displayName.replace(/["\\]/g, "\\$&")}"`
    : headerText(person.displayName);
  return `${name} <${person.symphonyEmail}>`;
}

/** PresentationML as plain text for the transcript. */
export function plainText(presentationMl: string): string {
  return presentationMl
    .replace(/<(script|style)[^>]*>[\s\S]*?<\/\1>/gi, "")
    .replace(/<br\s*\/?>|<\/(p|div|li|tr)>/gi, "\n")
    .replace(/<[^>]+>/g, "")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&#39;|&apos;/g, "'")
    .replace(/&amp;/g, "&")
    .replace(/\n{2,}/g, "\n")
    .trim();
}

const base64Lines = (bytes: Buffer) => (bytes.toString("base64").match(/.{1,76}/g) ?? []).join("\r\n");

export function emlMessage(c: ConversationPeriod, attachmentBytes: (id: string) => Buffer): Buffer {
  const boundary = `----=_symphony_${randomBytes(12).toString("hex")}`;
  const from = c.messages[0]!.sender;
  const transcript = c.messages
    .map((m) => {
      const edit = m.editOf ? " (edited)" : "";
      const files = m.message.attachments.map((a) => `\n  [file: ${a.name}]`).join("");
      return `[${new Date(m.time).toISOString()}] ${m.sender.displayName} <${m.sender.symphonyEmail}>${edit}: ${plainText(m.message.message)}${files}`;
    })
    .join("\n");
  const headers = [
    `From: ${address(from)}`,
    `To: ${emlParticipants(c).map(address).join(",\r\n ")}`,
    `Subject: ${headerText(c.stream.roomName ?? "Symphony chat")}`,
    `Date: ${new Date(c.end).toUTCString().replace("GMT", "+0000")}`,
    `Message-ID: <${emlMessageId(c)}>`,
    `X-Symphony-Stream-Id: ${c.stream.id}`,
    "MIME-Version: 1.0",
    `Content-Type: multipart/mixed; boundary="${boundary}"`,
  ];
  const parts = [
    [
      `--${boundary}`,
      "Content-Type: text/plain; charset=utf-8",
      "Content-Transfer-Encoding: base64",
      "",
      base64Lines(Buffer.from(transcript.replace(/\n/g, "\r\n"), "utf8")),
    ].join("\r\n"),
    ...c.messages.flatMap((m) =>
      m.message.attachments.map((a) =>
        [
          `--${boundary}`,
          `Content-Type: application/octet-stream; name="${headerText(a.name)}"`,
          `Content-Disposition: attachment; filename*=UTF-8''${encodeURIComponent(a.name)}`,
          "Content-Transfer-Encoding: base64",
          "",
          base64Lines(attachmentBytes(a.id)),
        ].join("\r\n"),
      ),
    ),
  ];
  return Buffer.from(`${headers.join("\r\n")}\r\n\r\n${parts.join("\r\n")}\r\n--${boundary}--\r\n`, "utf8");
}
