// The organisation as Content Export sees it: who was in each conversation when, which generated
// messages fall in which UTC day, and which messages are edits of which. Derived from the seeded
// organisation on demand; the REST API (messages.ts) is not changed by it. Messages added while
// running are not exported.
import { messageTimestamp, personById, type Org, type OrgStream, type Person } from "../org";
import { generatedMessage, type V4Message } from "./messages";

export const DAY = 86_400_000;

/** Exports carry whole seconds; milliseconds files show them times 1000. */
export const toSecond = (ms: number) => Math.floor(ms / 1000) * 1000;

/** A participant's stay: present at t when enter <= t <= leave (a Left at t itself still receives t). */
export type Stay = { person: Person; enter: number; leave: number };

export type ExportMessage = {
  message: V4Message;
  index: number;
  /** The message's time in the export (whole seconds, in ms). */
  time: number;
  sender: Person;
  /** Set on an original that was edited: its new version. */
  editedAs?: { messageId: string; time: number };
  /** Set on a new version: the original it replaces. */
  editOf?: { message: V4Message; time: number; sender: Person };
};

/** One conversation over one export period, with the messages it had then. */
export type ConversationPeriod = {
  stream: OrgStream;
  /** StartTimeUTC: the period's start, or the conversation's creation when later (ms). */
  start: number;
  /** EndTimeUTC: the period's end (ms). */
  end: number;
  /** Everyone present at some time of the period, with their whole stay. */
  stays: Stay[];
  messages: ExportMessage[];
};

export type ExportModel = {
  org: Org;
  /** Starts (ms) of the UTC days that have messages, oldest first. */
  days: number[];
  conversations(periodStart: number, periodEnd: number): ConversationPeriod[];
  stays(stream: OrgStream): Stay[];
  /** Whether files of the day containing `time` carry MessageId (every third day does not). */
  hasMessageIds(time: number): boolean;
};

type Range = { stream: OrgStream; from: number; to: number };

export function exportModel(org: Org): ExportModel {
  const byDay = new Map<number, Range[]>();
  for (const stream of org.streams) {
    let from = 0;
    for (let i = 1; i <= stream.messageCount; i++) {
      const day = dayOf(messageTimestamp(org, stream, from));
      if (i < stream.messageCount && dayOf(messageTimestamp(org, stream, i)) === day) continue;
      const ranges = byDay.get(day) ?? [];
      ranges.push({ stream, from, to: i });
      byDay.set(day, ranges);
      from = i;
    }
  }
  const staysCache = new Map<string, Stay[]>();
  const stays = (stream: OrgStream) => {
    let cached = staysCache.get(stream.id);
    if (!cached) staysCache.set(stream.id, (cached = planStays(org, stream)));
    return cached;
  };

  return {
    org,
    days: [...byDay.keys()].sort((a, b) => a - b),
    stays,
    hasMessageIds: (time) => Math.floor(time / DAY) % 3 !== 2,
    conversations(periodStart, periodEnd) {
      const periods: ConversationPeriod[] = [];
      const byStream = new Map<OrgStream, Range[]>();
      for (let day = dayOf(periodStart); day < periodEnd; day += DAY)
        for (const range of byDay.get(day) ?? [])
          byStream.set(range.stream, [...(byStream.get(range.stream) ?? []), range]);
      for (const [stream, ranges] of byStream) {
        const messages = ranges
          .flatMap((r) => Array.from({ length: r.to - r.from }, (_, k) => r.from + k))
          .filter((i) => {
            const t = messageTimestamp(org, stream, i);
            return t >= periodStart && t < periodEnd;
          })
          .map((i) => exportMessage(org, stream, i));
        if (messages.length === 0) continue;
        const start = Math.max(periodStart, toSecond(stream.createdDate));
        periods.push({
          stream,
          start,
          end: periodEnd,
          stays: stays(stream).filter((s) => s.enter <= periodEnd && s.leave >= start),
          messages,
        });
      }
      return periods.sort((a, b) => a.stream.createdDate - b.stream.createdDate);
    },
  };
}

export function dayOf(time: number): number {
  return Math.floor(time / DAY) * DAY;
}

/** Whether generated message `index` is a later version of message index-1 (see generatedMessage). */
function isEdit(stream: OrgStream, index: number): boolean {
  return index > 0 && index < stream.messageCount && (stream.messageOffset + index) % 13 === 6;
}

function exportMessage(org: Org, stream: OrgStream, index: number): ExportMessage {
  const message = generatedMessage(org, stream, index);
  const result: ExportMessage = {
    message,
    index,
    time: toSecond(message.timestamp),
    sender: personById(org, message.user.userId)!,
  };
  if (isEdit(stream, index + 1)) {
    const next = generatedMessage(org, stream, index + 1);
    result.editedAs = { messageId: next.messageId, time: toSecond(next.timestamp) };
  }
  if (isEdit(stream, index)) {
    const original = generatedMessage(org, stream, index - 1);
    result.editOf = {
      message: original,
      time: toSecond(original.timestamp),
      sender: personById(org, original.user.userId)!,
    };
  }
  return result;
}

/**
 * Everyone is in a conversation from its creation to the end, except in rooms of at least four
 * people (the bot aside): there the member whose first message comes latest joins a second before
 * it, and the member whose last message comes earliest leaves a second after it (someone who never
 * writes joins or leaves halfway through the room's messages). So a late joiner has no earlier
 * message and a leaver none of the later ones.
 */
export function planStays(org: Org, stream: OrgStream): Stay[] {
  const people = stream.memberIds.map((id) => personById(org, id)!);
  const stays = people.map((person) => ({ person, enter: -Infinity, leave: Infinity }));
  const humans = people.filter((p) => p.id !== org.bot.id);
  if (stream.type !== "ROOM" || humans.length < 4 || stream.messageCount === 0) return stays;

  const candidates = new Set(humans.filter((p) => p.id !== stream.createdByUserId).map((p) => p.id));
  const senderAt = (i: number) => generatedMessage(org, stream, i).user.userId;
  const timeAt = (i: number) => toSecond(messageTimestamp(org, stream, i));
  const halfway = toSecond((stream.firstMessageDate + stream.lastMessageDate) / 2);

  // First message of each candidate, scanning until every candidate has been seen.
  const first = new Map<number, number>();
  for (let i = 0; i < stream.messageCount && first.size < candidates.size; i++) {
    const id = senderAt(i);
    if (candidates.has(id) && !first.has(id)) first.set(id, i);
  }
  const joiner = [...candidates].reduce((a, b) => ((first.get(b) ?? Infinity) > (first.get(a) ?? Infinity) ? b : a));
  const joinerFirst = first.get(joiner);
  stays.find((s) => s.person.id === joiner)!.enter = joinerFirst === undefined ? halfway : timeAt(joinerFirst) - 1000;

  candidates.delete(joiner);
  const last = new Map<number, number>();
  for (let i = stream.messageCount - 1; i >= 0 && last.size < candidates.size; i--) {
    const id = senderAt(i);
    if (candidates.has(id) && !last.has(id)) last.set(id, i);
  }
  const leaver = [...candidates].reduce((a, b) => ((last.get(b) ?? -1) < (last.get(a) ?? -1) ? b : a));
  const leaverLast = last.get(leaver);
  stays.find((s) => s.person.id === leaver)!.leave = leaverLast === undefined ? halfway : timeAt(leaverLast) + 1000;
  return stays;
}

/** Whether a stay covers time t (the rule of the contract: Entered at e <= t, no Left in [e, t)). */
export function presentAt(stay: Stay, t: number): boolean {
  return stay.enter <= t && stay.leave >= t;
}
