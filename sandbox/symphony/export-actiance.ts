// Actiance XML as Mattermost's emitter writes it (server/enterprise/message_export/actiance_export/
// actiance_export.go), with the fields the content-export contract adds (InternalFlag, DisplayName,
// CorporateEmailID = the Symphony email, LoginName = the Symphony username).
import type { Person } from "../org";
import type { AttachmentInfo } from "./attachments";
import type { ConversationPeriod, ExportMessage } from "./export-model";

export type ActianceOptions = {
  /** Recurring files carry epoch seconds, ad-hoc files epoch milliseconds. */
  unit: "s" | "ms";
  /** Whether Message elements carry MessageId (and EditedNewMsgId). */
  messageIds: boolean;
};

/** Where a file transfer's bytes are in the zip (the XML's FileName). */
export function attachmentPath(attachment: Pick<AttachmentInfo, "id" | "name">): string {
  return `files/${attachment.id}/${attachment.name}`;
}

export function xmlEscape(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");
}

const element = (name: string, value: string | number) => `<${name}>${xmlEscape(String(value))}</${name}>`;

function participant(tag: "ParticipantEntered" | "ParticipantLeft", person: Person, time: string): string {
  return (
    `<${tag}>${element("LoginName", person.userName)}${element("DateTimeUTC", time)}` +
    `${element("InternalFlag", String(!person.external))}${element("CorporateEmailID", person.symphonyEmail)}` +
    `${element("DisplayName", person.displayName)}</${tag}>`
  );
}

function message(m: ExportMessage, at: (ms: number) => string, options: ActianceOptions): string {
  const parts = [
    element("LoginName", m.sender.userName),
    element("DateTimeUTC", at(m.time)),
    element("Content", m.message.message),
  ];
  if (options.messageIds) parts.push(element("MessageId", m.message.messageId));
  if (m.editedAs) {
    parts.push(element("UpdatedType", "EditedOriginalMsg"), element("UpdatedDateTimeUTC", at(m.editedAs.time)));
    if (options.messageIds) parts.push(element("EditedNewMsgId", m.editedAs.messageId));
  } else if (m.editOf) {
    parts.push(element("UpdatedType", "EditedNewMsg"), element("UpdatedDateTimeUTC", at(m.time)));
  }
  return `<Message>${parts.join("")}</Message>`;
}

function fileTransfers(m: ExportMessage, at: (ms: number) => string): string[] {
  return m.message.attachments.flatMap((a) => {
    const fields =
      element("LoginName", m.sender.userName) +
      element("DateTimeUTC", at(m.time)) +
      element("UserFileName", a.name) +
      element("FileName", attachmentPath(a));
    return [
      `<FileTransferStarted>${fields}${element("Status", "Started")}</FileTransferStarted>`,
      `<FileTransferEnded>${fields}${element("Status", "Completed")}</FileTransferEnded>`,
    ];
  });
}

/** The elements of one Conversation, one per line, in time order. */
export function conversationLines(c: ConversationPeriod, options: ActianceOptions): string[] {
  const at = (ms: number) => String(options.unit === "s" ? Math.floor(ms / 1000) : ms);
  // Events inside the period, ordered by time, then joins before messages before leaves.
  const events: Array<{ time: number; rank: number; xml: string[] }> = [];
  for (const stay of c.stays) {
    if (stay.enter > c.start)
      events.push({ time: stay.enter, rank: 0, xml: [participant("ParticipantEntered", stay.person, at(stay.enter))] });
    if (stay.leave < c.end)
      events.push({ time: stay.leave, rank: 2, xml: [participant("ParticipantLeft", stay.person, at(stay.leave))] });
  }
  for (const m of c.messages)
    events.push({ time: m.time, rank: 1, xml: [message(m, at, options), ...fileTransfers(m, at)] });
  events.sort((a, b) => a.time - b.time || a.rank - b.rank);

  return [
    `<Conversation Perspective="${xmlEscape(c.stream.roomName ?? "Chat")}">`,
    element("RoomID", c.stream.id),
    element("StartTimeUTC", at(c.start)),
    ...c.stays.filter((s) => s.enter <= c.start).map((s) => participant("ParticipantEntered", s.person, at(c.start))),
    ...events.flatMap((e) => e.xml),
    ...c.stays.filter((s) => s.leave >= c.end).map((s) => participant("ParticipantLeft", s.person, at(c.end))),
    element("EndTimeUTC", at(c.end)),
    "</Conversation>",
  ];
}

export function actianceXml(conversations: ConversationPeriod[], options: ActianceOptions): string {
  const lines = ['<?xml version="1.0" encoding="UTF-8"?>', "<FileDump>"];
  for (const c of conversations) lines.push(...conversationLines(c, options));
  lines.push("</FileDump>", "");
  return lines.join("\n");
}
