import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import { toUrlSafeBase64 } from "@/lib/base64";
import { ExportFileError, quoted } from "./errors";
import { DEFAULT_XML_LIMITS, parseXml, type XmlHandlers, type XmlLimits } from "./xml-stream";
import type { ConversationType, ExportChatItem, ExportParticipant } from "./types";
import { unsafePathReason } from "./zip";

/** Opens the XML entry again from its start: the file is read twice (index, then items). */
export type OpenXml = () => Promise<Readable>;

/** Presence segments whose recipient lists a conversation keeps at once (records come nearly in time order). */
const RECIPIENT_SEGMENTS_KEPT = 16;

const RECORD_KINDS = [
  "ParticipantEntered",
  "ParticipantLeft",
  "Message",
  "FileTransferStarted",
  "FileTransferEnded",
] as const;
type RecordKind = (typeof RECORD_KINDS)[number];

const FIELD_NAMES = [
  "LoginName",
  "DateTimeUTC",
  "InternalFlag",
  "CorporateEmailID",
  "DisplayName",
  "Content",
  "MessageId",
  "UpdatedType",
  "UpdatedDateTimeUTC",
  "EditedNewMsgId",
  "UserFileName",
  "FileName",
  "Status",
] as const;
type FieldName = (typeof FIELD_NAMES)[number];
type Fields = Partial<Record<FieldName, string>>;

const CONVERSATION_FIELD_NAMES = ["RoomID", "StartTimeUTC", "EndTimeUTC"] as const;
type ConversationFieldName = (typeof CONVERSATION_FIELD_NAMES)[number];

const isRecordKind = (name: string): name is RecordKind => (RECORD_KINDS as readonly string[]).includes(name);
const isFieldName = (name: string): name is FieldName => (FIELD_NAMES as readonly string[]).includes(name);
const isConversationField = (name: string): name is ConversationFieldName =>
  (CONVERSATION_FIELD_NAMES as readonly string[]).includes(name);

type Sink = {
  conversationStart(perspective: string | undefined, line: number): void;
  conversationField(name: ConversationFieldName, text: string): void;
  record(kind: RecordKind, fields: Fields, line: number): void;
  conversationEnd(): void;
};

/**
 * FileDump > Conversation > (RoomID | StartTimeUTC | EndTimeUTC | record > field). Unknown elements
 * are skipped (which optional elements Symphony emits is not public); a field's text includes the
 * text of anything nested in it. The first occurrence of a repeated field counts.
 */
function actianceHandlers(sink: Sink, limits: XmlLimits): XmlHandlers {
  let depth = 0;
  let inConversation = false;
  let record: { kind: RecordKind; fields: Fields; line: number } | undefined;
  let field: { name: FieldName | ConversationFieldName; depth: number } | undefined;
  let text = "";
  return {
    open(name, attributes, line) {
      depth += 1;
      if (depth === 1) {
        if (name !== "FileDump") throw new ExportFileError(`this is not an Actiance XML file (root <${name}>)`);
      } else if (depth === 2) {
        inConversation = name === "Conversation";
        if (inConversation) sink.conversationStart(attributes.Perspective, line);
      } else if (depth === 3 && inConversation) {
        if (isRecordKind(name)) {
          record = { kind: name, fields: {}, line };
        } else if (isConversationField(name)) {
          field = { name, depth };
          text = "";
        }
      } else if (depth === 4 && record && isFieldName(name)) {
        field = { name, depth };
        text = "";
      }
    },
    text(chunk) {
      if (!field) return;
      // Markup inside a field (which the text skips) must not let its text grow past one stretch's limit.
      if (text.length + chunk.length > limits.maxTextChars)
        throw new ExportFileError(`a <${field.name}> has more than ${limits.maxTextChars} characters of text`);
      text += chunk;
    },
    close() {
      if (field?.depth === depth) {
        if (record) record.fields[field.name as FieldName] ??= text;
        else sink.conversationField(field.name as ConversationFieldName, text);
        field = undefined;
      } else if (depth === 3 && record) {
        sink.record(record.kind, record.fields, record.line);
        record = undefined;
      } else if (depth === 2 && inConversation) {
        sink.conversationEnd();
        inConversation = false;
      }
      depth -= 1;
    },
  };
}

type Presence = { enters: number[]; leaves: number[] };

/** What pass 1 learnt about one <Conversation>, in document order. */
class ConversationIndex {
  readonly participants = new Map<string, ExportParticipant>();
  readonly presence = new Map<string, Presence>();
  readonly endedTransfers = new Set<string>();
  items = 0;
  private breakpoints: number[] = [];
  private readonly recipientsBySegment = new Map<number, ExportParticipant[]>();

  constructor(
    readonly id: string,
    readonly name: string | undefined,
    readonly type: ConversationType,
  ) {}

  sealPresence() {
    const times = new Set<number>();
    for (const { enters, leaves } of this.presence.values()) {
      enters.sort((a, b) => a - b);
      leaves.sort((a, b) => a - b);
      for (const t of enters) times.add(t);
      for (const t of leaves) times.add(t);
    }
    this.breakpoints = [...times].sort((a, b) => a - b);
  }

  participant(loginName: string): ExportParticipant {
    return this.participants.get(loginName) ?? { loginName, internal: true };
  }

  /** The participants present at t, then the sender if absent (the same list for every t between two events). */
  recipientsAt(t: number, sender: ExportParticipant): ExportParticipant[] {
    const i = lowerBound(this.breakpoints, t);
    const segment = 2 * i + (this.breakpoints[i] === t ? 1 : 0);
    let present = this.recipientsBySegment.get(segment);
    if (!present) {
      present = [];
      for (const [login, presence] of this.presence) if (isPresent(presence, t)) present.push(this.participant(login));
      // A few segments are kept: a conversation whose presence changes between every two messages
      // would otherwise hold one list per segment, its participants squared.
      if (this.recipientsBySegment.size >= RECIPIENT_SEGMENTS_KEPT)
        this.recipientsBySegment.delete(this.recipientsBySegment.keys().next().value!);
      this.recipientsBySegment.set(segment, present);
    }
    return present.some((p) => p.loginName === sender.loginName) ? present.slice() : [...present, sender];
  }
}

/** Entered at e <= t and no Left in [e, t): checking the latest such e is enough. */
function isPresent({ enters, leaves }: Presence, t: number): boolean {
  const latest = lowerBound(enters, t + 1) - 1;
  if (latest < 0) return false;
  const entered = enters[latest] as number;
  const firstLeave = leaves[lowerBound(leaves, entered)];
  return firstLeave === undefined || firstLeave >= t;
}

/** The first index whose value is >= t (sorted ascending). */
function lowerBound(sorted: number[], t: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((sorted[mid] as number) < t) low = mid + 1;
    else high = mid;
  }
  return low;
}

export type ActianceIndex = {
  conversations: ConversationIndex[];
  /** Items pass 2 yields: messages, plus one per file transfer. */
  messages: number;
  /** Every FileName the XML refers to: each must be an entry of the zip, but for a failed transfer's. */
  fileNames: Set<string>;
  /**
   * The FileNames of transfers that did not complete: ended `<Status>Failed</Status>` (Mattermost's
   * exporter, whose structure the format follows, writes "Completed" or "Failed"), or started and never
   * ended in the file. The zip may hold no bytes for them.
   */
  unfinishedTransfers: Set<string>;
  /** EditedNewMsgId -> MessageId of the original. */
  originalOf: Map<string, string>;
};

/**
 * Pass 1: reads the whole XML, fails on anything wrong with it (so nothing is imported from a bad
 * file), and keeps only a small index per conversation.
 */
export async function indexActiance(openXml: OpenXml, limits: XmlLimits = DEFAULT_XML_LIMITS): Promise<ActianceIndex> {
  const index: ActianceIndex = {
    conversations: [],
    messages: 0,
    fileNames: new Set(),
    unfinishedTransfers: new Set(),
    originalOf: new Map(),
  };
  let pending: PendingConversation | undefined;
  const sink: Sink = {
    conversationStart: (perspective, line) => (pending = new PendingConversation(perspective, line)),
    conversationField: (name, text) => {
      if (pending) pending.fields[name] ??= text;
    },
    record: (kind, fields, line) => pending?.add(kind, fields, line, index),
    conversationEnd: () => {
      if (!pending) return;
      const conversation = pending.seal();
      for (const fileName of pending.startedOnly()) index.unfinishedTransfers.add(fileName);
      index.conversations.push(conversation);
      index.messages += conversation.items;
      pending = undefined;
    },
  };
  for await (const _ of parseXml(await openXml(), actianceHandlers(sink, limits), limits));
  return index;
}

class PendingConversation {
  readonly fields: Partial<Record<ConversationFieldName, string>> = {};
  private readonly participants = new Map<string, ExportParticipant>();
  private readonly presence = new Map<string, Presence>();
  private readonly people = new Set<string>();
  private readonly startedTransfers: string[] = [];
  private readonly endedTransfers = new Set<string>();
  private messages = 0;
  private ended = 0;

  constructor(
    private readonly perspective: string | undefined,
    private readonly line: number,
  ) {}

  add(kind: RecordKind, fields: Fields, line: number, index: ActianceIndex) {
    const where = `the <${kind}> at line ${line}`;
    const login = requiredText(fields.LoginName, where, "LoginName");
    const time = epochMillis(fields.DateTimeUTC, where, "DateTimeUTC");
    this.people.add(login);
    switch (kind) {
      case "ParticipantEntered":
      case "ParticipantLeft": {
        this.noteParticipant(login, fields);
        let presence = this.presence.get(login);
        if (!presence) this.presence.set(login, (presence = { enters: [], leaves: [] }));
        (kind === "ParticipantEntered" ? presence.enters : presence.leaves).push(time);
        break;
      }
      case "Message": {
        this.messages += 1;
        if (fields.UpdatedDateTimeUTC !== undefined)
          epochMillis(fields.UpdatedDateTimeUTC, where, "UpdatedDateTimeUTC");
        const messageId = messageIdOf(fields.MessageId);
        const newId = messageIdOf(fields.EditedNewMsgId);
        if (optionalText(fields.UpdatedType) === "EditedOriginalMsg" && messageId && newId) {
          index.originalOf.set(newId, messageId);
        }
        break;
      }
      case "FileTransferStarted":
      case "FileTransferEnded": {
        const fileName = transferFileName(fields, where);
        index.fileNames.add(fileName);
        if (kind === "FileTransferEnded") {
          this.ended += 1;
          this.endedTransfers.add(fileName);
          if (optionalText(fields.Status)?.toLowerCase() === "failed") index.unfinishedTransfers.add(fileName);
        } else {
          this.startedTransfers.push(fileName);
        }
        break;
      }
    }
  }

  private noteParticipant(loginName: string, fields: Fields) {
    const known = this.participants.get(loginName);
    const email = optionalText(fields.CorporateEmailID);
    const displayName = optionalText(fields.DisplayName);
    const flag = optionalText(fields.InternalFlag);
    if (!known) {
      const internal = flag === undefined ? true : !/^(false|0|no)$/i.test(flag);
      this.participants.set(loginName, {
        loginName,
        internal,
        ...(email && { email }),
        ...(displayName && { displayName }),
      });
      return;
    }
    if (!known.email && email) known.email = email;
    if (!known.displayName && displayName) known.displayName = displayName;
  }

  /** Transfers that started and never ended in this conversation. */
  startedOnly(): string[] {
    return this.startedTransfers.filter((fileName) => !this.endedTransfers.has(fileName));
  }

  seal(): ConversationIndex {
    const where = `the <Conversation> at line ${this.line}`;
    const id = requiredText(this.fields.RoomID, where, "RoomID");
    if (this.fields.StartTimeUTC !== undefined) epochMillis(this.fields.StartTimeUTC, where, "StartTimeUTC");
    if (this.fields.EndTimeUTC !== undefined) epochMillis(this.fields.EndTimeUTC, where, "EndTimeUTC");
    const perspective = optionalText(this.perspective);
    const isRoom = perspective !== undefined && perspective.toLowerCase() !== "chat";
    const type: ConversationType = isRoom ? "ROOM" : this.people.size <= 2 ? "IM" : "MIM";
    const conversation = new ConversationIndex(id, isRoom ? perspective : undefined, type);
    for (const [login, participant] of this.participants) conversation.participants.set(login, participant);
    for (const [login, presence] of this.presence) conversation.presence.set(login, presence);
    for (const fileName of this.endedTransfers) conversation.endedTransfers.add(fileName);
    conversation.items = this.messages + this.ended + this.startedOnly().length;
    conversation.sealPresence();
    return conversation;
  }
}

/**
 * Pass 2: the items in document order, one chunk of the XML at a time. The index must come from
 * pass 1 over the same bytes.
 */
export async function* readActianceItems(
  openXml: OpenXml,
  index: ActianceIndex,
  sizeOf: (zipPath: string) => number,
  limits: XmlLimits = DEFAULT_XML_LIMITS,
): AsyncGenerator<ExportChatItem> {
  const ready: ExportChatItem[] = [];
  let ordinal = -1;
  let conversation: ConversationIndex | undefined;
  let repeats = new Map<string, number>();
  let yielded = 0;
  const changed = () => new ExportFileError("the XML changed between its two readings");

  const item = (fields: Fields, line: number, kind: RecordKind): ExportChatItem | undefined => {
    if (!conversation) throw changed();
    const where = `the <${kind}> at line ${line}`;
    const login = requiredText(fields.LoginName, where, "LoginName");
    const sentAt = epochMillis(fields.DateTimeUTC, where, "DateTimeUTC");
    const messageId = messageIdOf(fields.MessageId);
    let content = "";
    let attachments: ExportChatItem["attachments"] = [];
    let editOf: string | undefined;
    let editedAt: Date | undefined;
    if (kind === "Message") {
      content = fields.Content ?? "";
      const updated = optionalText(fields.UpdatedType);
      if (updated === "EditedNewMsg") {
        editOf = messageId === undefined ? undefined : index.originalOf.get(messageId);
        const updatedAt = fields.UpdatedDateTimeUTC;
        editedAt = new Date(updatedAt === undefined ? sentAt : epochMillis(updatedAt, where, "UpdatedDateTimeUTC"));
      }
    } else {
      const zipPath = transferFileName(fields, where);
      if (kind === "FileTransferStarted" && conversation.endedTransfers.has(zipPath)) return undefined;
      const name = optionalText(fields.UserFileName) ?? zipPath.slice(zipPath.lastIndexOf("/") + 1);
      attachments = [{ name, zipPath, size: sizeOf(zipPath) }];
    }
    const sender = conversation.participant(login);
    const key =
      messageId ??
      stableKey(repeats, [
        conversation.id,
        login,
        Math.floor(sentAt / 1000),
        content,
        attachments.map((a) => a.zipPath),
      ]);
    return {
      kind: "chat",
      key,
      ...(messageId !== undefined && { messageId }),
      conversationId: conversation.id,
      ...(conversation.name !== undefined && { conversationName: conversation.name }),
      conversationType: conversation.type,
      sentAt: new Date(sentAt),
      sender,
      recipients: conversation.recipientsAt(sentAt, sender),
      content,
      attachments,
      ...(editOf !== undefined && { editOf }),
      ...(editedAt !== undefined && { editedAt }),
    };
  };

  const sink: Sink = {
    conversationStart: () => {
      ordinal += 1;
      conversation = index.conversations[ordinal];
      repeats = new Map();
      if (!conversation) throw changed();
    },
    conversationField: () => {},
    record: (kind, fields, line) => {
      if (kind === "ParticipantEntered" || kind === "ParticipantLeft") return;
      const next = item(fields, line, kind);
      if (next) ready.push(next);
    },
    conversationEnd: () => (conversation = undefined),
  };
  for await (const _ of parseXml(await openXml(), actianceHandlers(sink, limits), limits)) {
    for (const next of ready) yield next;
    yielded += ready.length;
    ready.length = 0;
  }
  if (yielded !== index.messages || ordinal + 1 !== index.conversations.length) throw changed();
}

/**
 * A key for a message without a MessageId, equal in every file that holds the message. The time is
 * taken in whole seconds because recurring files carry seconds and ad-hoc files milliseconds; a
 * second identical message in the same second of the same conversation gets its ordinal added.
 */
function stableKey(repeats: Map<string, number>, parts: [string, string, number, string, string[]]): string {
  const first = sha256(JSON.stringify(parts));
  const seen = repeats.get(first) ?? 0;
  repeats.set(first, seen + 1);
  return `ce-${seen === 0 ? first : sha256(JSON.stringify([...parts, seen]))}`;
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

function transferFileName(fields: Fields, where: string): string {
  const fileName = requiredText(fields.FileName, where, "FileName");
  const unsafe = unsafePathReason(fileName);
  if (unsafe) throw new ExportFileError(`${where} names the file ${quoted(fileName)}, an unsafe path (${unsafe})`);
  return fileName;
}

/**
 * A message id in the URL-safe form the APIs (and the Datahose) use: the export may carry the standard
 * base64 the clients show ("The message ID in the UI is in standard Base64 encoding", Symphony's
 * developer docs), and one message must have one key whichever source brings it.
 */
function messageIdOf(text: string | undefined): string | undefined {
  const id = optionalText(text);
  return id === undefined ? undefined : toUrlSafeBase64(id);
}

function optionalText(text: string | undefined): string | undefined {
  const trimmed = text?.trim();
  return trimmed ? trimmed : undefined;
}

function requiredText(text: string | undefined, where: string, field: string): string {
  const value = optionalText(text);
  if (value === undefined) throw new ExportFileError(`${where} has no ${field}`);
  return value;
}

const EPOCH = /^\d{1,16}(?:\.\d{1,9})?$/;
const EARLIEST = Date.UTC(2000, 0, 1);
const LATEST = Date.UTC(2200, 0, 1);

/** Epoch seconds or milliseconds, told apart by magnitude (< 1e11 is seconds: 1e11 ms is 1973). */
export function epochMillis(text: string | undefined, where: string, field: string): number {
  const value = requiredText(text, where, field);
  if (!EPOCH.test(value)) throw new ExportFileError(`${where} has a garbled ${field} ${quoted(value, 40)}`);
  const number = Number(value);
  const millis = Math.round(number < 1e11 ? number * 1000 : number);
  if (millis < EARLIEST || millis >= LATEST) {
    throw new ExportFileError(
      `${where} has a ${field} ${quoted(value, 40)} that is no epoch time between 2000 and 2200 (in seconds or milliseconds)`,
    );
  }
  return millis;
}
