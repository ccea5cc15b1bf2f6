/**
 * Conversion micro-benchmark: typical chat messages -> email model (+ Graph JSON, + MIME), on one
 * core. Run: npx tsx scripts/bench/convert.ts [seconds per case]; `npm run bench` calls measureConversion.
 */
import { Readable } from "node:stream";
import { pathToFileURL } from "node:url";
import { buildEmail } from "@/lib/convert";
import { toGraphMessage } from "@/lib/convert";
import { bufferedMime, buildMime } from "@/lib/convert";
import { readStagedMime } from "@/lib/convert";
import type { ChatMessage, EmailModel, Person } from "@/lib/convert";
import { stagedModel } from "@/lib/pipeline";

/** `list[i % list.length]`: the lists of this file are non-empty and are walked round and round. */
function nth<T>(list: readonly T[], i: number): T {
  const item = list[i % list.length];
  if (item === undefined) throw new Error("nth() of an empty list");
  return item;
}

const people: Person[] = Array.from({ length: 8 }, (_, i) => ({
  userId: String(71811853189120 + i),
  email: `user${i}@example.com`,
  displayName: `User Number${i}`,
}));

const mentionData = JSON.stringify({
  "0": {
    type: "com.symphony.user.mention",
    version: "1.0",
    id: [{ type: "com.symphony.user.userId", value: nth(people, 1).userId }],
  },
  "1": {
    type: "org.symphonyoss.taxonomy",
    version: "1.0",
    id: [{ type: "org.symphonyoss.taxonomy.hashtag", value: "rates" }],
  },
  "2": {
    type: "org.symphonyoss.fin.security",
    version: "1.0",
    id: [{ type: "org.symphonyoss.fin.security.id.ticker", value: "AAPL" }],
  },
});

const wrap = (body: string) => `<div data-format="PresentationML" data-version="2.0" class="wysiwyg">${body}</div>`;
const bodies: { presentationML: string; data?: string }[] = [
  { presentationML: wrap("<p>Morning all, anything new on the curve today?</p>") },
  { presentationML: wrap("<p>ok</p>") },
  {
    presentationML: wrap(
      '<p>Hi <span class="entity" data-entity-id="0">@User Number1</span>, see <span class="entity" data-entity-id="1">#rates</span> and <span class="entity" data-entity-id="2">$AAPL</span>: <b>bid</b> 190.10 / <i>offer</i> 190.25</p>',
    ),
    data: mentionData,
  },
  { presentationML: wrap("<p>Levels:</p><ul><li>2y 4.10</li><li>5y 3.95</li><li>10y 4.02</li></ul>") },
  {
    presentationML: wrap(
      "<table><thead><tr><th>Tenor</th><th>Bid</th><th>Ask</th></tr></thead><tbody><tr><td>2y</td><td>4.10</td><td>4.12</td></tr><tr><td>5y</td><td>3.95</td><td>3.97</td></tr></tbody></table>",
    ),
  },
];

const messages: ChatMessage[] = bodies.map((body, i) => ({
  messageId: `Vh3xJ8pK2mQ${i}nR5tL0wZ-aB_cD`,
  streamId: "iWyZBIOdQQzQj0tKOLRivX___qu6YeyZdA",
  streamType: i % 2 === 0 ? "ROOM" : "IM",
  conversationName: "Rates desk",
  timestamp: new Date(1_764_000_000_000 + i * 1000),
  sender: nth(people, 0),
  participants: i % 2 === 0 ? people : people.slice(0, 2),
  attachments: [],
  ...body,
}));

export type ConversionFigure = { name: string; messagesPerSecond: number };

function measure(name: string, seconds: number, run: (message: ChatMessage) => unknown): ConversionFigure {
  for (let i = 0; i < 2000; i++) run(nth(messages, i));
  let count = 0;
  const start = process.hrtime.bigint();
  const end = start + BigInt(seconds * 1e9);
  while (process.hrtime.bigint() < end) {
    for (let i = 0; i < 100; i++) run(nth(messages, count++));
  }
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  return { name, messagesPerSecond: count / elapsed };
}

/**
 * Async cases run 8 at a time, as the pipeline converts them (its default parallelism): MIME
 * streaming yields to the event loop between parts, and one message at a time would count those
 * pauses as if the core were busy.
 */
async function measureAsync(
  name: string,
  seconds: number,
  run: (index: number) => Promise<unknown>,
  lanes = 8,
): Promise<ConversionFigure> {
  for (let i = 0; i < 200; i++) await run(i);
  let count = 0;
  const start = process.hrtime.bigint();
  const end = start + BigInt(seconds * 1e9);
  const lane = async () => {
    while (process.hrtime.bigint() < end) await run(count++);
  };
  await Promise.all(Array.from({ length: lanes }, lane));
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  return { name, messagesPerSecond: count / elapsed };
}

async function mimeOf(email: EmailModel): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of buildMime(email, [])) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Messages per second on one core (this thread) for each conversion step, `seconds` per case. */
export async function measureConversion(seconds: number): Promise<ConversionFigure[]> {
  const emails = messages.map((message) => buildEmail(message));
  const mimes = await Promise.all(emails.map(mimeOf));
  const models = emails.map((email) => Buffer.from(JSON.stringify({ graph: toGraphMessage(email), attachments: [] })));
  return [
    measure("buildEmail (HTML + text + headers)", seconds, (message) => buildEmail(message)),
    measure("buildEmail + toGraphMessage", seconds, (message) => toGraphMessage(buildEmail(message))),
    await measureAsync("MIME of the email (written directly, as MailComposer would)", seconds, (i) =>
      mimeOf(nth(emails, i)),
    ),
    // What collect stages per message: the MIME (the evidence) and the Graph model after it.
    await measureAsync("buildEmail + MIME + Graph model (collect, per message)", seconds, async (i) => {
      const email = buildEmail(nth(messages, i));
      // As collect stages it: written at once, and the model from what was written.
      const { mime, parts } = bufferedMime(email, []);
      return [mime, await stagedModel(mime, { email, parts })];
    }),
    measure(
      "staged Graph model read back (import, per message)",
      seconds,
      (message) => JSON.parse(nth(models, message.messageId.length).toString("utf8")) as unknown,
    ),
    await measureAsync("readStagedMime + toGraphMessage (import of a message without a model)", seconds, async (i) =>
      toGraphMessage((await readStagedMime(() => Readable.from([nth(mimes, i)]))).email),
    ),
  ];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const seconds = Number(process.argv[2] ?? 3);
  console.log(`Node ${process.version}, ${messages.length} typical messages in rotation, ${seconds}s per case`);
  for (const { name, messagesPerSecond } of await measureConversion(seconds)) {
    console.log(
      `${name.padEnd(42)} ${Math.round(messagesPerSecond).toLocaleString("en-US").padStart(9)} messages/s per core`,
    );
  }
}
