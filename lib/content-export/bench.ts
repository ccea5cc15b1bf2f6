import { Readable } from "node:stream";
import { indexActiance, readActianceItems } from "./actiance";

export type ActianceParseBench = {
  messages: number;
  xmlBytes: number;
  pass1Ms: number;
  pass2Ms: number;
  /** Messages per second for both passes together (what one file costs one core). */
  messagesPerSecond: number;
  megabytesPerSecond: number;
};

const CHUNK_BYTES = 64 * 1024;
const MESSAGES_PER_CONVERSATION = 500;
const PEOPLE = ["alice", "bob", "carol", "dave", "erin", "frank"];

/**
 * Actiance XML parsing on one core (no zip, no disk): an in-memory file of `messages` messages in
 * rooms of six people with joins and leaves, read by pass 1 (index) and pass 2 (items).
 */
export async function benchActianceParse(messages: number): Promise<ActianceParseBench> {
  const xml = Buffer.from(actianceXml(messages));
  const open = () => {
    const chunks: Buffer[] = [];
    for (let at = 0; at < xml.length; at += CHUNK_BYTES) chunks.push(xml.subarray(at, at + CHUNK_BYTES));
    return Promise.resolve(Readable.from(chunks));
  };
  const started = performance.now();
  const index = await indexActiance(open);
  const indexed = performance.now();
  let items = 0;
  for await (const item of readActianceItems(open, index, () => 0)) if (item.recipients.length > 0) items += 1;
  const done = performance.now();
  if (items !== messages) throw new Error(`the benchmark read ${items} of ${messages} messages`);
  const seconds = (done - started) / 1000;
  return {
    messages,
    xmlBytes: xml.length,
    pass1Ms: Math.round(indexed - started),
    pass2Ms: Math.round(done - indexed),
    messagesPerSecond: Math.round(messages / seconds),
    megabytesPerSecond: Math.round((xml.length / 1024 / 1024 / seconds) * 10) / 10,
  };
}

function actianceXml(messages: number): string {
  const parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<FileDump>\n'];
  const start = 1_565_654_400_000;
  for (let first = 0, room = 0; first < messages; first += MESSAGES_PER_CONVERSATION, room += 1) {
    const count = Math.min(MESSAGES_PER_CONVERSATION, messages - first);
    const end = start + count * 1000 + 1000;
    parts.push(`  <Conversation Perspective="Room ${room}">\n    <RoomID>room-${room}</RoomID>\n`);
    parts.push(`    <StartTimeUTC>${start}</StartTimeUTC>\n`);
    PEOPLE.slice(0, 4).forEach((person) => parts.push(participant("ParticipantEntered", person, start)));
    const joinAt = start + Math.floor(count / 3) * 1000;
    const leaveAt = start + Math.floor((2 * count) / 3) * 1000;
    parts.push(participant("ParticipantEntered", "erin", joinAt));
    parts.push(participant("ParticipantLeft", "bob", leaveAt));
    for (let n = 0; n < count; n += 1) {
      const sender = PEOPLE[n % 4] as string;
      parts.push(
        `    <Message><LoginName>${sender}</LoginName><DateTimeUTC>${start + n * 1000}</DateTimeUTC>` +
          `<Content>&lt;div data-format="PresentationML" data-version="2.0"&gt;Message ${first + n}: the quarterly numbers look fine &amp; we ship on Friday&lt;/div&gt;</Content>` +
          `<MessageId>msg-${room}-${n}</MessageId></Message>\n`,
      );
    }
    for (const person of ["alice", "carol", "dave", "erin"]) parts.push(participant("ParticipantLeft", person, end));
    parts.push(`    <EndTimeUTC>${end}</EndTimeUTC>\n  </Conversation>\n`);
  }
  parts.push("</FileDump>\n");
  return parts.join("");
}

function participant(element: string, login: string, at: number): string {
  return (
    `    <${element}><LoginName>${login}</LoginName><DateTimeUTC>${at}</DateTimeUTC><InternalFlag>true</InternalFlag>` +
    `<CorporateEmailID>${login}@example.com</CorporateEmailID><DisplayName>${login}</DisplayName></${element}>\n`
  );
}
