// The seeded demo organisation shared by the sandboxes: who works where, which conversations exist
// and how many messages each holds. Everything derives from the seed, so two runs with the same
// options describe the same organisation. Message bodies are not stored here; the Symphony sandbox
// derives message i of a stream on demand (sandbox/symphony/messages.ts).

export type StreamType = "IM" | "MIM" | "ROOM" | "POST";

export type Person = {
  /** Symphony user id. */
  id: number;
  userName: string;
  firstName: string;
  lastName: string;
  displayName: string;
  company: string;
  companyId: number;
  /** The address Symphony knows the person by. */
  symphonyEmail: string;
  /** The person's Microsoft 365 mailbox; null for people of other companies (unmappable). */
  m365Address: string | null;
  external: boolean;
  status: "ENABLED" | "DISABLED";
  accountType: "NORMAL" | "SYSTEM";
};

export type OrgStream = {
  /** URL-safe base64, no padding. */
  id: string;
  type: StreamType;
  /** A ROOM that is a group chat (Symphony keeps group chats as rooms marked `groupChat` since SBE 20.16). */
  groupChat: boolean;
  /** Named rooms only (not group chats). */
  roomName: string | null;
  roomDescription: string | null;
  memberIds: number[];
  ownerIds: number[];
  createdByUserId: number;
  createdDate: number;
  lastModifiedDate: number;
  /** INTERNAL when every member is of our company. */
  scope: "INTERNAL" | "EXTERNAL";
  /** EXTERNAL when created by someone of another company. */
  origin: "INTERNAL" | "EXTERNAL";
  isActive: boolean;
  isPublic: boolean;
  /** Whether the bot is a member (a datafeed only carries such streams). */
  botIsMember: boolean;
  /** Messages generated for this stream; message i has a timestamp strictly after message i-1. */
  messageCount: number;
  firstMessageDate: number;
  lastMessageDate: number;
  /** Number of generated messages in the streams numbered before this one (the bot's streams come first). */
  messageOffset: number;
};

export type Org = {
  seed: string;
  domain: string;
  companyName: string;
  companyId: number;
  /** Everyone but the bot: our company's people first, then other companies'. */
  people: Person[];
  bot: Person;
  streams: OrgStream[];
  totalMessages: number;
  period: { start: number; end: number };
  largeAttachments: boolean;
  smallAttachments: boolean;
};

export type OrgOptions = {
  seed: string | number;
  /** People of our company (default 20). */
  users?: number;
  /** People of other companies (default a quarter of `users`, at least 2). */
  externalUsers?: number;
  /** Messages across all streams (default 200); from ~50 for tests to 1,000,000 for benchmarks. */
  messages?: number;
  /** Number of conversations (default derived from the number of people). */
  streams?: number;
  domain?: string;
  companyName?: string;
  /** End of the message period, epoch ms (default now). Pass it for fully reproducible timestamps. */
  end?: number;
  periodDays?: number;
  /** Share of our people whose Symphony email differs from their mailbox (default 0.1). */
  differentEmailShare?: number;
  /** Put one >3 MB and one >10 MB attachment in the organisation (default true). */
  largeAttachments?: boolean;
  /** Attach a small file (1-300 KB) to every ninth message (default true). */
  smallAttachments?: boolean;
};

const DAY = 86_400_000;

const FIRST_NAMES = [
  "Alice",
  "Bruno",
  "Chloé",
  "Dmitri",
  "Elena",
  "Farid",
  "Grace",
  "Hiroshi",
  "Ingrid",
  "João",
  "Karin",
  "Liam",
  "Mei",
  "Noah",
  "Olga",
  "Priya",
  "Quentin",
  "Rania",
  "Sven",
  "Tomás",
  "Uma",
  "Viktor",
  "Wen",
  "Xavier",
  "Yara",
  "Zoltán",
  "Aoife",
  "Björn",
  "Siobhan",
  "Nguyen",
];
const LAST_NAMES = [
  "Anderson",
  "Berger",
  "Chen",
  "Dubois",
  "Eriksson",
  "Fischer",
  "García",
  "Haddad",
  "Ito",
  "Jansen",
  "Kowalski",
  "Lefèvre",
  "Müller",
  "Nakamura",
  "O'Brien",
  "Petrova",
  "Quinn",
  "Rossi",
  "Schmidt",
  "Tanaka",
  "Ulrich",
  "Van der Berg",
  "Wang",
  "Xu",
  "Yılmaz",
  "Zhang",
  "Al-Masri",
  "Cohen",
];
const EXTERNAL_COMPANIES = [
  { name: "Northwind Securities", domain: "northwind-securities.example", podId: 211 },
  { name: "Contoso Asset Management", domain: "contoso-am.example", podId: 223 },
  { name: "Fabrikam Capital", domain: "fabrikam-capital.example", podId: 237 },
];
const OUR_POD_ID = 197;
const ROOM_TOPICS = [
  "Rates Desk",
  "FX Flow",
  "Credit Trading",
  "Equity Research",
  "Compliance Alerts",
  "Ops Breaks",
  "Deal Team Atlas",
  "Macro Strategy",
  "EMEA Sales",
  "APAC Coverage",
  "Risk Committee",
  "Tech Support",
];

/** 32-bit hash of the parts (cyrb-style mixing); the basis of every seeded choice. */
export function hashParts(...parts: Array<string | number>): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  const text = parts.join("\u0001");
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (h1 ^ h2) >>> 0;
}

/** A seeded generator of floats in [0, 1) (mulberry32). */
export function seededRandom(...parts: Array<string | number>): () => number {
  let state = hashParts(...parts);
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** 18 seeded bytes as URL-safe base64 (24 characters, no padding), like Symphony's ids. */
export function seededId(...parts: Array<string | number>): string {
  const bytes = Buffer.alloc(18);
  for (let i = 0; i < 18; i += 4) {
    const word = hashParts(...parts, i);
    for (let b = 0; b < 4 && i + b < 18; b++) bytes[i + b] = (word >>> (8 * b)) & 0xff;
  }
  return bytes.toString("base64url");
}

/** `items[index]` for an index the caller knows to be in range; a clear error instead of `undefined`. */
export function itemAt<T>(items: readonly T[], index: number): T {
  const item = items[index];
  if (item === undefined) throw new Error(`No item at index ${index} of a list of ${items.length}`);
  return item;
}

function pick<T>(random: () => number, items: readonly T[]): T {
  return itemAt(items, Math.floor(random() * items.length));
}

function ascii(text: string): string {
  return text
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .replace(/ı/g, "i")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "");
}

type PeopleSpec = {
  seed: string;
  users: number;
  externalUsers: number;
  domain: string;
  companyName: string;
  differentEmailShare: number;
};

function makePeople(spec: PeopleSpec): { people: Person[]; bot: Person } {
  const random = seededRandom(spec.seed, "people");
  const taken = new Set<string>();
  const uniqueLocal = (base: string) => {
    let local = base;
    for (let n = 2; taken.has(local); n++) local = `${base}${n}`;
    taken.add(local);
    return local;
  };
  const differentEvery = spec.differentEmailShare > 0 ? Math.max(1, Math.round(1 / spec.differentEmailShare)) : 0;
  const people: Person[] = [];

  for (let i = 0; i < spec.users; i++) {
    const firstName = pick(random, FIRST_NAMES);
    const lastName = pick(random, LAST_NAMES);
    const local = uniqueLocal(`${ascii(firstName)}.${ascii(lastName)}`);
    const m365Address = `${local}@${spec.domain}`;
    // Every n-th person (and at least one in a small org) kept an older Symphony address.
    const differs =
      differentEvery > 0 &&
      (i % differentEvery === differentEvery - 1 || (spec.users < differentEvery && i === spec.users - 1));
    people.push({
      id: OUR_POD_ID * 2 ** 27 + 1001 + i,
      userName: local,
      firstName,
      lastName,
      displayName: `${firstName} ${lastName}`,
      company: spec.companyName,
      companyId: OUR_POD_ID,
      symphonyEmail: differs ? `${ascii(firstName)[0]}${ascii(lastName)}${i}@markets.${spec.domain}` : m365Address,
      m365Address,
      external: false,
      // One person has left: still in the user list and in old conversations, but disabled.
      status: spec.users >= 5 && i === 4 ? "DISABLED" : "ENABLED",
      accountType: "NORMAL",
    });
  }

  for (let i = 0; i < spec.externalUsers; i++) {
    const company = itemAt(EXTERNAL_COMPANIES, i % EXTERNAL_COMPANIES.length);
    const firstName = pick(random, FIRST_NAMES);
    const lastName = pick(random, LAST_NAMES);
    const local = uniqueLocal(`${ascii(firstName)}.${ascii(lastName)}`);
    people.push({
      id: company.podId * 2 ** 27 + 5001 + i,
      userName: `${local}.${company.podId}`,
      firstName,
      lastName,
      displayName: `${firstName} ${lastName}`,
      company: company.name,
      companyId: company.podId,
      symphonyEmail: `${local}@${company.domain}`,
      m365Address: null,
      external: true,
      status: "ENABLED",
      accountType: "NORMAL",
    });
  }

  const bot: Person = {
    id: OUR_POD_ID * 2 ** 27 + 1000,
    userName: "archive-bot",
    firstName: "Archive",
    lastName: "Bot",
    displayName: "Archive Bot",
    company: spec.companyName,
    companyId: OUR_POD_ID,
    symphonyEmail: `archive-bot@${spec.domain}`,
    m365Address: null,
    external: false,
    status: "ENABLED",
    accountType: "SYSTEM",
  };
  return { people, bot };
}

type StreamShape = Pick<
  OrgStream,
  "type" | "groupChat" | "memberIds" | "createdByUserId" | "roomName" | "roomDescription"
>;

function sample<T>(random: () => number, items: readonly T[], count: number): T[] {
  const pool = [...items];
  const chosen: T[] = [];
  while (chosen.length < count && pool.length > 0) chosen.push(...pool.splice(Math.floor(random() * pool.length), 1));
  return chosen;
}

function planShapes(seed: string, people: Person[], streamCount: number): StreamShape[] {
  const random = seededRandom(seed, "streams");
  const internal = people.filter((p) => !p.external);
  const external = people.filter((p) => p.external);
  // Roughly: 45% IMs, 20% group chats, 25% rooms, 10% wall posts; at least one of each. Every other
  // group chat is a new-style one, a ROOM marked groupChat (SBE 20.16+); those come after the named
  // rooms, so the first ROOM of an organisation is always a named room.
  const counts = {
    ROOM: Math.max(1, Math.round(streamCount * 0.25)),
    MIM: Math.max(1, Math.round(streamCount * 0.2)),
    POST: Math.max(1, Math.round(streamCount * 0.1)),
  };
  const imCount = Math.max(1, streamCount - counts.ROOM - counts.MIM - counts.POST);
  const shapes: StreamShape[] = [];
  const groupChatRooms: StreamShape[] = [];

  for (let i = 0; i < imCount; i++) {
    // Every fourth IM is with someone of another company.
    const a = pick(random, internal);
    const others = i % 4 === 1 && external.length > 0 ? external : internal.filter((p) => p.id !== a.id);
    const b = pick(random, others.length > 0 ? others : internal);
    const creator = i % 8 === 1 ? b : a;
    shapes.push({
      type: "IM",
      groupChat: false,
      memberIds: [a.id, b.id],
      createdByUserId: creator.id,
      roomName: null,
      roomDescription: null,
    });
  }
  for (let i = 0; i < counts.MIM; i++) {
    const members = sample(random, internal, Math.min(internal.length, 3 + Math.floor(random() * 4)));
    if (i % 3 === 1 && external.length > 0) members.push(pick(random, external));
    const newStyle = i % 2 === 1;
    (newStyle ? groupChatRooms : shapes).push({
      type: newStyle ? "ROOM" : "MIM",
      groupChat: newStyle,
      memberIds: members.map((p) => p.id),
      createdByUserId: itemAt(members, 0).id,
      roomName: null,
      roomDescription: null,
    });
  }
  for (let i = 0; i < counts.ROOM; i++) {
    const members = sample(random, internal, Math.min(internal.length, 3 + Math.floor(random() * 8)));
    const withExternal = i % 3 === 2 && external.length > 0;
    const guests = withExternal ? sample(random, external, Math.min(external.length, 2)) : [];
    // One external room was created by the other company (origin EXTERNAL).
    const creator = itemAt(withExternal && i % 6 === 5 ? guests : members, 0);
    const topic =
      itemAt(ROOM_TOPICS, i % ROOM_TOPICS.length) +
      (i >= ROOM_TOPICS.length ? ` ${Math.floor(i / ROOM_TOPICS.length) + 1}` : "");
    shapes.push({
      type: "ROOM",
      groupChat: false,
      memberIds: [...members, ...guests].map((p) => p.id),
      createdByUserId: creator.id,
      roomName: topic,
      roomDescription: `Discussion room for ${topic}`,
    });
  }
  shapes.push(...groupChatRooms);
  for (let i = 0; i < counts.POST; i++) {
    const author = itemAt(internal, i % internal.length);
    shapes.push({
      type: "POST",
      groupChat: false,
      memberIds: [author.id],
      createdByUserId: author.id,
      roomName: null,
      roomDescription: null,
    });
  }
  return shapes;
}

/** Zipf-like split of `total` over `n` streams (largest remainder), so a few streams are busy. */
function splitMessages(total: number, n: number): number[] {
  const weights = Array.from({ length: n }, (_, i) => 1 / (i + 1));
  const sum = weights.reduce((a, b) => a + b, 0);
  const exact = weights.map((w) => (w / sum) * total);
  const counts = exact.map(Math.floor);
  let left = total - counts.reduce((a, b) => a + b, 0);
  const order = exact.map((x, i) => [x - Math.floor(x), i] as const).sort((a, b) => b[0] - a[0]);
  for (let k = 0; left > 0; k = (k + 1) % n, left--) {
    const [, index] = itemAt(order, k);
    counts[index] = itemAt(counts, index) + 1;
  }
  return counts;
}

export function generateOrg(options: OrgOptions): Org {
  const seed = String(options.seed);
  const users = options.users ?? 20;
  const externalUsers = options.externalUsers ?? Math.max(2, Math.round(users / 4));
  const totalMessages = options.messages ?? 200;
  const domain = options.domain ?? "bank.example";
  const companyName = options.companyName ?? "Example Bank";
  const end = options.end ?? Date.now();
  const start = end - (options.periodDays ?? 90) * DAY;
  if (users < 2) throw new Error("generateOrg: users must be at least 2");

  const { people, bot } = makePeople({
    seed,
    users,
    externalUsers,
    domain,
    companyName,
    differentEmailShare: options.differentEmailShare ?? 0.1,
  });
  const byId = new Map(people.map((p) => [p.id, p]));
  const streamCount = Math.max(4, options.streams ?? Math.round(users * 1.5));
  const shapes = planShapes(seed, people, streamCount);
  // The bot sits in every other room (the first included) and in the first group chat: what it can
  // read over REST and what a datafeed carries. Those are its busiest conversations (a bot is added
  // to the conversations to keep), and the organisation's numbering starts with them, so the first
  // messages (every content kind, the large files) are ones the REST path reads.
  const firstRoom = shapes.findIndex((s) => s.type === "ROOM");
  const firstGroupChat = shapes.findIndex((s) => s.type === "MIM");
  const botIn = shapes.map((s, i) => (s.type === "ROOM" && (i - firstRoom) % 2 === 0) || i === firstGroupChat);
  const botFirst = (a: number, b: number) => Number(botIn[b]) - Number(botIn[a]);
  // Which conversations are busiest is seeded too, so rooms and chats alike get long histories.
  const busiestFirst = shapes
    .map((_, i) => i)
    .sort((a, b) => botFirst(a, b) || hashParts(seed, "rank", a) - hashParts(seed, "rank", b));
  const split = splitMessages(totalMessages, shapes.length);
  const counts: number[] = [];
  busiestFirst.forEach((streamIndex, rank) => (counts[streamIndex] = itemAt(split, rank)));
  const span = end - start;
  if (Math.max(...counts) > span * 0.7)
    throw new Error("generateOrg: more messages in a stream than milliseconds in the period");

  const lastRoom = shapes.findLastIndex((s) => s.type === "ROOM" && !s.groupChat);
  const offsets: number[] = [];
  let offset = 0;
  for (const index of shapes.map((_, i) => i).sort((a, b) => botFirst(a, b) || a - b)) {
    offsets[index] = offset;
    offset += itemAt(counts, index);
  }
  const streams = shapes.map((shape, index): OrgStream => {
    const random = seededRandom(seed, "stream", index);
    // Messages of a stream fall in [first, last]: starting in the first fifth of the period,
    // ending in the last twentieth, so every stream has history and recent activity.
    const firstMessageDate = start + Math.floor(random() * span * 0.2);
    const lastMessageDate = end - Math.floor(random() * span * 0.05);
    const createdDate = firstMessageDate - Math.floor(random() * 30 * DAY) - 60_000;
    const memberPeople = shape.memberIds.map((id) => byId.get(id)!);
    const creator = byId.get(shape.createdByUserId)!;
    const isRoom = shape.type === "ROOM";
    const isNamedRoom = isRoom && !shape.groupChat;
    const scope = memberPeople.some((p) => p.external) ? "EXTERNAL" : "INTERNAL";
    const botIsMember = itemAt(botIn, index);
    const messageCount = itemAt(counts, index);
    const stream: OrgStream = {
      id: seededId(seed, "stream-id", index),
      ...shape,
      memberIds: botIsMember ? [...shape.memberIds, bot.id] : shape.memberIds,
      ownerIds: isRoom ? [shape.createdByUserId] : [],
      createdDate,
      lastModifiedDate: isRoom ? createdDate + Math.floor(random() * 10 * DAY) : createdDate,
      scope,
      origin: creator.external ? "EXTERNAL" : "INTERNAL",
      // The last room has been deactivated; internal rooms alternate public/private.
      isActive: index !== lastRoom,
      isPublic: isNamedRoom && scope === "INTERNAL" && index % 2 === 1,
      botIsMember,
      messageCount,
      firstMessageDate,
      lastMessageDate,
      messageOffset: itemAt(offsets, index),
    };
    return stream;
  });

  return {
    seed,
    domain,
    companyName,
    companyId: OUR_POD_ID,
    people,
    bot,
    streams,
    totalMessages,
    period: { start, end },
    largeAttachments: options.largeAttachments ?? true,
    smallAttachments: options.smallAttachments ?? true,
  };
}

/** Timestamp of generated message i of a stream: strictly increasing in i, derived in O(1). */
export function messageTimestamp(org: Org, stream: OrgStream, index: number): number {
  const step = (stream.lastMessageDate - stream.firstMessageDate) / Math.max(1, stream.messageCount);
  const jitter = Math.floor(step) > 1 ? hashParts(org.seed, stream.id, index, "t") % Math.floor(step) : 0;
  return stream.firstMessageDate + Math.floor(index * step) + jitter;
}

const peopleIndex = new WeakMap<Org, Map<number, Person>>();

export function personById(org: Org, id: number): Person | undefined {
  let index = peopleIndex.get(org);
  if (!index) {
    index = new Map([org.bot, ...org.people].map((p) => [p.id, p]));
    peopleIndex.set(org, index);
  }
  return index.get(id);
}
