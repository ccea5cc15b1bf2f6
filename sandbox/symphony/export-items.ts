// What a correct importer must produce from the export files, computed from the sandbox's own model
// (never by parsing its files): one item per message and per file transfer (Actiance), or one per
// conversation and period (EML).
import { createHash } from "node:crypto";
import type { Person } from "../org";
import { attachmentPath } from "./export-actiance";
import { emlMessageId, emlParticipants } from "./export-eml";
import { presentAt, type ConversationPeriod, type ExportMessage, type ExportModel } from "./export-model";

export type ExpectedItem = {
  key: string;
  conversationId: string;
  sentAt: number;
  senderEmail: string;
  /** Symphony emails of everyone present at the message's time, sender included, lower-case, sorted. */
  recipientEmails: string[];
  /**
   * On the new version of an edited message: the original's key, when a reader can link the two
   * (both in one file that carries MessageId, through EditedNewMsgId).
   */
  editOf?: string;
  attachmentNames: string[];
};

/**
 * The key of an item without MessageId: `ce-` + SHA-256 hex of the JSON of its identifying fields, the
 * time in whole seconds (recurring files carry seconds, ad-hoc files milliseconds: one message, one key).
 * The n-th repeat (n >= 1) of identical fields in one conversation of a file adds n to them.
 */
export function hashKey(
  conversationId: string,
  senderLoginName: string,
  epochMillis: number,
  content: string,
  attachmentPaths: string[],
  repeat = 0,
): string {
  const parts: unknown[] = [conversationId, senderLoginName, Math.floor(epochMillis / 1000), content, attachmentPaths];
  const json = JSON.stringify(repeat === 0 ? parts : [...parts, repeat]);
  return `ce-${createHash("sha256").update(json).digest("hex")}`;
}

const emails = (people: Person[]) => [...new Set(people.map((p) => p.symphonyEmail.toLowerCase()))].sort();

/** The items of one conversation over one period, keyed as a reader of that file keys them. */
function actianceItems(model: ExportModel, conversation: ConversationPeriod, withoutTransfer?: string): ExpectedItem[] {
  const streamId = conversation.stream.id;
  const withIds = model.hasMessageIds(conversation.start);
  const repeats = new Map<string, number>();
  const stableKey = (login: string, time: number, content: string, paths: string[]) => {
    const first = hashKey(streamId, login, time, content, paths);
    const seen = repeats.get(first) ?? 0;
    repeats.set(first, seen + 1);
    return seen === 0 ? first : hashKey(streamId, login, time, content, paths, seen);
  };

  return conversation.messages.flatMap((m: ExportMessage) => {
    const present = conversation.stays.filter((s) => presentAt(s, m.time)).map((s) => s.person);
    const common = {
      conversationId: streamId,
      sentAt: m.time,
      senderEmail: m.sender.symphonyEmail.toLowerCase(),
      recipientEmails: emails([...present, m.sender]),
    };
    const message: ExpectedItem = {
      ...common,
      key: withIds ? m.message.messageId : stableKey(m.sender.userName, m.time, m.message.message, []),
      attachmentNames: [],
    };
    // A reader links an edit through EditedNewMsgId, so only within one file that carries ids.
    if (m.editOf && withIds && m.editOf.time >= conversation.start) message.editOf = m.editOf.message.messageId;
    const transfers = m.message.attachments
      .filter((a) => attachmentPath(a) !== withoutTransfer)
      .map((a): ExpectedItem => ({
        ...common,
        key: stableKey(m.sender.userName, m.time, "", [attachmentPath(a)]),
        attachmentNames: [a.name],
      }));
    return [message, ...transfers];
  });
}

function emlItem(conversation: ConversationPeriod): ExpectedItem {
  const from = conversation.messages[0]!.sender;
  return {
    // As a MIME parser gives the header: with its angle brackets.
    key: emlMessageId(conversation),
    conversationId: conversation.stream.id,
    sentAt: conversation.end,
    senderEmail: from.symphonyEmail.toLowerCase(),
    recipientEmails: emails([...emlParticipants(conversation), from]),
    attachmentNames: conversation.messages.flatMap((m) => m.message.attachments.map((a) => a.name)),
  };
}

/** The items of the given periods, each key once, oldest first. */
export function expectedItems(
  model: ExportModel,
  format: "ACTIANCE" | "EML",
  periods: Array<{ start: number; end: number; format?: "ACTIANCE" | "EML"; withoutTransfer?: string }>,
): ExpectedItem[] {
  const byKey = new Map<string, ExpectedItem>();
  for (const period of periods)
    for (const conversation of model.conversations(period.start, period.end)) {
      const items =
        (period.format ?? format) === "EML"
          ? [emlItem(conversation)]
          : actianceItems(model, conversation, period.withoutTransfer);
      for (const item of items) if (!byKey.has(item.key)) byKey.set(item.key, item);
    }
  return [...byKey.values()].sort((a, b) => a.sentAt - b.sentAt || a.key.localeCompare(b.key));
}
