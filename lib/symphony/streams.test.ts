// What the connector collects of each kind of conversation, and what listing them costs.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startSymphonySandbox, type SymphonySandbox } from "@/sandbox/symphony/index";
import { createSymphonyClient, type SymphonyClientOptions } from "./client";
import { adminStreamListSchema, streamMemberListSchema, type StreamType } from "./schemas";

let sandbox: SymphonySandbox;
beforeAll(async () => {
  sandbox = await startSymphonySandbox({ seed: "stream-kinds", org: { users: 14, messages: 120 } });
});
afterAll(() => sandbox?.close());

function client(options: SymphonyClientOptions = {}) {
  const { podUrl, agentUrl, keyManagerUrl, bot } = sandbox;
  const settings = { podUrl, agentUrl, keyManagerUrl, botUsername: bot.username, privateKeyPem: bot.privateKeyPem };
  return createSymphonyClient(settings, { retry: { maxAttempts: 2, baseDelayMs: 5, maxDelayMs: 20 }, ...options });
}

async function idsOf(streamTypes?: StreamType[]): Promise<string[]> {
  const ids: string[] = [];
  for await (const page of client().listStreams(streamTypes ? { streamTypes } : {})) ids.push(...page.map((s) => s.id));
  return ids.sort();
}

const org = () => sandbox.org.streams;
const sorted = (streams: typeof sandbox.org.streams) => streams.map((s) => s.id).sort();
const requests = (route: string) => sandbox.stats.byRoute[route] ?? 0;

describe("kinds of conversation", () => {
  it("collects group chats of both kinds under Group chats, and only named rooms under Rooms", async () => {
    const groupChatRooms = org().filter((s) => s.groupChat);
    expect(groupChatRooms.length).toBeGreaterThan(0);
    expect(await idsOf(["MIM"])).toEqual(sorted(org().filter((s) => s.type === "MIM" || s.groupChat)));
    expect(await idsOf(["ROOM"])).toEqual(sorted(org().filter((s) => s.type === "ROOM" && !s.groupChat)));
    expect(await idsOf(["IM"])).toEqual(sorted(org().filter((s) => s.type === "IM")));
    const chats = await client().countStreams({ streamTypes: ["MIM"] });
    expect(chats).toBe(org().filter((s) => s.type === "MIM" || s.groupChat).length);
  });

  it("lists walls per user (the admin list refuses them), and every kind when none is chosen", async () => {
    const perUser = requests("POST /pod/v1/admin/user/{uid}/streams/list");
    expect(await idsOf(["POST"])).toEqual(sorted(org().filter((s) => s.type === "POST")));
    // One request per user of the admin user list (the bot included).
    expect(requests("POST /pod/v1/admin/user/{uid}/streams/list") - perUser).toBe(sandbox.org.people.length + 1);
    const walls = [];
    for await (const page of client().listStreams({ streamTypes: ["POST"] })) walls.push(...page);
    expect(walls.every((s) => s.type === "POST" && s.attributes.createdByUserId === s.attributes.members?.[0])).toBe(
      true,
    );
    expect(await idsOf()).toEqual(sorted(org()));
    expect(await idsOf(["IM", "MIM", "ROOM", "POST"])).toEqual(sorted(org()));
  });

  it("tells when each listed stream last had a message", async () => {
    const symphony = client();
    const listed = [];
    for await (const page of symphony.listStreams({ streamTypes: ["IM", "MIM", "ROOM"] })) listed.push(...page);
    const readable = listed.filter((s) => org().find((o) => o.id === s.id)!.botIsMember);
    expect(readable.length).toBeGreaterThan(0);
    for (const stream of readable) {
      let last: number | undefined;
      for await (const page of symphony.messages(stream.id)) last = page.at(-1)!.timestamp ?? undefined;
      expect(stream.attributes.lastMessageDate, stream.id).toBe(last);
    }
  });
});

describe("page sizes", () => {
  it("asks for the users and a stream's members in pages of 1000, the API's maximum", async () => {
    const fetched = vi.spyOn(globalThis, "fetch");
    try {
      const symphony = client();
      expect(await symphony.listUsers()).toHaveLength(sandbox.org.people.length + 1);
      const room = org().find((s) => s.type === "ROOM" && s.memberIds.length > 3)!;
      expect((await symphony.listStreamMembers(room.id)).length).toBeGreaterThan(0);
      const limits = fetched.mock.calls
        .map(([url]) => new URL(url instanceof Request ? url.url : url))
        .filter((url) => /\/(user\/list|membership\/list)$/.test(url.pathname))
        .map((url) => `${url.pathname.split("/").at(-2)} ${url.searchParams.get("limit")}`);
      expect(limits).toEqual(["user 1000", "membership 1000"]);
    } finally {
      fetched.mockRestore();
    }
  });
});

describe("an admin stream list with entries that do not fit", () => {
  it("takes nulls for missing fields, and keeps an entry that does not fit for its run to record, with the reason", () => {
    const page = adminStreamListSchema.parse({
      count: 4,
      skip: null,
      streams: [
        { id: "fine", type: "ROOM", isPublic: null, isActive: true, attributes: { roomName: "Desk", groupChat: null } },
        { id: "odd", type: "ROOM", attributes: { members: ["seven"] } },
        { id: "odd-chat", attributes: { groupChat: true } },
        { type: "ROOM" },
      ],
    });
    expect(page.streams.map((stream) => [stream.id, stream.type, stream.invalid === undefined])).toEqual([
      ["fine", "ROOM", true],
      ["odd", "ROOM", false],
      ["odd-chat", "", false],
    ]);
    expect(page.streams[1]?.invalid).toBe(
      "Symphony described this conversation in a way the connector cannot read (attributes.members.0: Invalid input: expected number, received string)",
    );
    expect(page.streams[2]?.attributes.groupChat).toBe(true);
    // Paging by skip goes by the entries sent: one left out must not end the list early.
    expect(page.listed).toBe(4);
  });
});

describe("a stream's member list with records that do not fit", () => {
  it("keeps each member whose user id it can read, with what else fits, and pages by the records sent", () => {
    const page = streamMemberListSchema.parse({
      count: 5,
      members: [
        { user: { userId: 1, email: "a@bank.example" }, joinDate: 1_700_000_000_000 },
        { user: { userId: 2, email: "b@bank.example", companyId: "Bank" }, joinDate: -1, isOwner: "yes" },
        { user: { userId: "3", email: "c@bank.example", isExternal: "yes" }, joinDate: 1_700_000_000_000.5 },
        { user: { email: "nobody@bank.example" } },
        null,
      ],
    });
    expect(page.listed).toBe(5);
    expect(page.members).toEqual([
      { user: { userId: 1, email: "a@bank.example" }, joinDate: 1_700_000_000_000 },
      {
        user: expect.objectContaining({ userId: 2, email: "b@bank.example", companyId: undefined }) as unknown,
        isOwner: undefined,
        isCreator: undefined,
        joinDate: null,
      },
      {
        user: expect.objectContaining({ userId: 3, email: "c@bank.example", isExternal: true }) as unknown,
        isOwner: undefined,
        isCreator: undefined,
        joinDate: null,
      },
    ]);
  });
});
