/**
 * Conversion micro-benchmark: typical chat messages -> email model (+ Graph JSON, + MIME), on one
 * core. Run: npx tsx lib/convert/bench.ts [seconds per case]
 */
import { buildEmail } from "./email";
import { toGraphMessage } from "./graph";
import { buildMime } from "./mime";
import type { ChatMessage, Person } from "./types";

const seconds = Number(process.argv[2] ?? 3);

const people: Person[] = Array.from({ length: 8 }, (_, i) => ({
  userId: String(71811853189120 + i),
  email: `user${i}@example.com`,
  displayName: `User Number${i}`,
}));

const mentionData = JSON.stringify({
  "0": { type: "com.symphony.user.mention", version: "1.0", id: [{ type: "com.symphony.user.userId", value: people[1].userId }] },
  "1": { type: "org.symphonyoss.taxonomy", version: "1.0", id: [{ type: "org.symphonyoss.taxonomy.hashtag", value: "rates" }] },
  "2": { type: "org.symphonyoss.fin.security", version: "1.0", id: [{ type: "org.symphonyoss.fin.security.id.ticker", value: "AAPL" }] },
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
  sender: people[0],
  participants: i % 2 === 0 ? people : people.slice(0, 2),
  attachments: [],
  ...body,
}));

function measure(name: string, run: (message: ChatMessage) => unknown) {
  for (let i = 0; i < 2000; i++) run(messages[i % messages.length]);
  let count = 0;
  const start = process.hrtime.bigint();
  const end = start + BigInt(seconds * 1e9);
  while (process.hrtime.bigint() < end) {
    for (let i = 0; i < 100; i++) run(messages[count++ % messages.length]);
  }
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(`${name.padEnd(36)} ${Math.round(count / elapsed).toLocaleString("en-US").padStart(9)} messages/s per core`);
}

async function measureMime() {
  const emails = messages.map((message) => buildEmail(message));
  let count = 0;
  const start = process.hrtime.bigint();
  const end = start + BigInt(seconds * 1e9);
  while (process.hrtime.bigint() < end) {
    for await (const _chunk of buildMime(emails[count++ % emails.length], []));
  }
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(`${"MIME (MailComposer) of the email".padEnd(36)} ${Math.round(count / elapsed).toLocaleString("en-US").padStart(9)} messages/s per core`);
}

console.log(`Node ${process.version}, ${messages.length} typical messages in rotation, ${seconds}s per case`);
measure("buildEmail (HTML + text + headers)", (message) => buildEmail(message));
measure("buildEmail + toGraphMessage", (message) => toGraphMessage(buildEmail(message)));
await measureMime();
