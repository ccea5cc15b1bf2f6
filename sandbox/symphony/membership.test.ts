// What a service account can read: the agent decrypts only the streams it is a member of, the pod
// lists the caller's own streams and its own user, and the membership list shows current members
// with their join dates. Also a message the agent cannot decrypt and a stream that answers an error.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { OrgStream } from "../org";
import { startSymphonySandbox, type SymphonySandbox } from "./index";
import { loginHeaders, postJson } from "./test-client";

let sandbox: SymphonySandbox;
let headers: Record<string, string>;
beforeAll(async () => {
  sandbox = await startSymphonySandbox({
    seed: "membership",
    org: { users: 12, messages: 300, end: Date.UTC(2026, 9, 1), largeAttachments: false },
  });
  headers = await loginHeaders(sandbox);
});
afterAll(() => sandbox.close());

const messagesUrl = (sid: string) => `${sandbox.agentUrl}/agent/v4/stream/${sid}/message?since=0&limit=500`;
const withMessages = (member: boolean) =>
  sandbox.org.streams.find((s) => s.botIsMember === member && s.messageCount > 0 && s.type !== "POST")!;

type Member = { user: { userId: number }; joinDate: number };
async function membership(stream: OrgStream): Promise<{ count: number; members: Member[] }> {
  const url = `${sandbox.podUrl}/pod/v1/admin/stream/${stream.id}/membership/list?limit=1000`;
  return (await (await fetch(url, { headers })).json()) as { count: number; members: Member[] };
}

describe("what the bot can read", () => {
  it("reads the streams it is a member of and gets 403 for the others, messages and attachments alike", async () => {
    const mine = withMessages(true);
    const theirs = withMessages(false);
    const read = await fetch(messagesUrl(mine.id), { headers });
    expect(read.status).toBe(200);
    expect((await read.json()) as unknown[]).toHaveLength(mine.messageCount);

    const refused = await fetch(messagesUrl(theirs.id), { headers });
    expect(refused.status).toBe(403);
    expect(await refused.json()).toEqual({
      code: 403,
      message: `User ${sandbox.bot.userId} is not a member of stream ${theirs.id}`,
    });
    const attachment = await fetch(`${sandbox.agentUrl}/agent/v1/stream/${theirs.id}/attachment?fileId=x&messageId=y`, {
      headers,
    });
    expect(attachment.status).toBe(403);
  });

  it("lists the members of IM, MIM and ROOM streams only, as the spec says: a wall answers 400", async () => {
    const wall = sandbox.org.streams.find((s) => s.type === "POST")!;
    const url = `${sandbox.podUrl}/pod/v1/admin/stream/${wall.id}/membership/list?limit=1000`;
    expect((await fetch(url, { headers })).status).toBe(400);
  });

  it("names the caller with /pod/v2/sessioninfo", async () => {
    const res = await fetch(`${sandbox.podUrl}/pod/v2/sessioninfo`, { headers });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      id: sandbox.bot.userId,
      username: sandbox.bot.username,
      displayName: sandbox.org.bot.displayName,
      accountType: "SYSTEM",
    });
    expect((await fetch(`${sandbox.podUrl}/pod/v2/sessioninfo`)).status).toBe(401);
  });

  it("lists the caller's own streams with /pod/v1/streams/list, by type, paged, 204 past the end", async () => {
    const list = (query: string, filter: unknown) =>
      postJson(`${sandbox.podUrl}/pod/v1/streams/list?${query}`, filter, headers);
    type Listed = { id: string; active: boolean; streamType: { type: string }; roomAttributes?: { name: string } };
    const all = (await (await list("limit=1000", { includeInactiveStreams: true })).json()) as Listed[];
    expect(all.map((s) => s.id).sort()).toEqual(
      sandbox.org.streams
        .filter((s) => s.botIsMember)
        .map((s) => s.id)
        .sort(),
    );
    expect(all.length).toBeLessThan(sandbox.org.streams.length);

    const rooms = (await (await list("limit=1000", { streamTypes: [{ type: "ROOM" }] })).json()) as Listed[];
    const activeRooms = sandbox.org.streams.filter((s) => s.botIsMember && s.type === "ROOM" && s.isActive);
    expect(rooms.map((s) => s.id).sort()).toEqual(activeRooms.map((s) => s.id).sort());
    expect(rooms.every((s) => s.streamType.type === "ROOM" && s.active)).toBe(true);
    const named = rooms.find((s) => s.id === activeRooms.find((r) => r.roomName)?.id);
    expect(named?.roomAttributes?.name).toBeTruthy();

    const first = (await (await list("skip=0&limit=1", { includeInactiveStreams: true })).json()) as Listed[];
    expect(first.map((s) => s.id)).toEqual([all[0]!.id]);
    expect((await list(`skip=${all.length}&limit=10`, { includeInactiveStreams: true })).status).toBe(204);
  });
});

describe("membership and the admin stream list", () => {
  /** A room where someone joined after the first messages and someone else left before the last ones. */
  const roomWithMoves = () =>
    sandbox.org.streams.find(
      (s) => s.type === "ROOM" && s.memberIds.filter((id) => id !== sandbox.bot.userId).length >= 4,
    )!;

  it("lists the current members only, each with the time they joined", async () => {
    const room = roomWithMoves();
    expect(room).toBeDefined();
    const { count, members } = await membership(room);
    expect(count).toBe(members.length);
    // Someone left: the list has one member fewer than ever took part.
    expect(members).toHaveLength(room.memberIds.length - 1);
    expect(members.map((m) => m.user.userId).every((id) => room.memberIds.includes(id))).toBe(true);
    expect(members.every((m) => m.joinDate >= room.createdDate)).toBe(true);
    // Someone joined later than the room was created, after its first message.
    const late = members.filter((m) => m.joinDate > room.createdDate);
    expect(late).toHaveLength(1);
    expect(late[0]!.joinDate).toBeGreaterThan(room.firstMessageDate);
    expect(sandbox.currentMembers(room.id).map((m) => [m.person.id, m.joinDate])).toEqual(
      members.map((m) => [m.user.userId, m.joinDate]),
    );
  });

  it("gives members for IMs and group chats only, and every stream's last message date", async () => {
    type Listed = { id: string; type: string; attributes: { members?: number[]; lastMessageDate?: number } };
    const res = await postJson(`${sandbox.podUrl}/pod/v1/admin/streams/list?limit=100`, {}, headers);
    const { streams } = (await res.json()) as { streams: Listed[] };
    for (const listed of streams) {
      const stream = sandbox.org.streams.find((s) => s.id === listed.id)!;
      if (stream.type === "IM" || stream.type === "MIM") expect(listed.attributes.members).toEqual(stream.memberIds);
      else expect(listed.attributes.members).toBeUndefined();
      if (stream.messageCount > 0)
        expect(listed.attributes.lastMessageDate).toBeLessThanOrEqual(stream.lastMessageDate);
    }
  });
});

describe("messages the agent cannot read and streams that answer an error", () => {
  it("lists an undecryptable message with its diagnostic instead of its content", async () => {
    const stream = withMessages(true);
    const added = sandbox.addMessage({ streamId: stream.id, diagnostic: "Failed to decrypt message: unknown key" });
    const page = (await (
      await fetch(`${sandbox.agentUrl}/agent/v4/stream/${stream.id}/message?since=${added.timestamp}`, { headers })
    ).json()) as Array<Record<string, unknown>>;
    expect(page).toEqual([
      {
        messageId: added.messageId,
        timestamp: added.timestamp,
        user: added.user,
        stream: added.stream,
        diagnostic: "Failed to decrypt message: unknown key",
      },
    ]);
  });

  it("answers the injected status for one stream's history and nothing else", async () => {
    const stream = withMessages(true);
    const other = sandbox.org.streams.find((s) => s.botIsMember && s.id !== stream.id)!;
    const put = (status: number | null) =>
      fetch(`${sandbox.podUrl}/sandbox/stream-faults`, {
        method: "PUT",
        body: JSON.stringify({ streamId: stream.id, status }),
      });
    expect((await put(404)).status).toBe(204);
    expect((await fetch(messagesUrl(stream.id), { headers })).status).toBe(404);
    expect((await fetch(messagesUrl(other.id), { headers })).status).not.toBe(404);
    expect((await put(500)).status).toBe(400);
    expect((await put(null)).status).toBe(204);
    expect((await fetch(messagesUrl(stream.id), { headers })).status).toBe(200);
  });
});
