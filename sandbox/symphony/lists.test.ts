import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSymphonySandbox, type SymphonySandbox } from "./index";
import { loginHeaders, postJson } from "./test-client";

let sandbox: SymphonySandbox;
let headers: Record<string, string>;
beforeAll(async () => {
  sandbox = await startSymphonySandbox({
    seed: "lists",
    org: { users: 150, externalUsers: 30, messages: 400, streams: 130, end: Date.UTC(2026, 9, 1) },
  });
  headers = await loginHeaders(sandbox);
});
afterAll(() => sandbox.close());

type AdminStream = {
  id: string;
  type: string;
  isActive: boolean;
  attributes: { createdDate: number; members: number[]; roomName?: string; groupChat?: boolean };
};
type StreamPage = { count: number; skip: number; limit: number; streams: AdminStream[] };

describe("admin user list and v3 lookup", () => {
  it("pages every user, 100 by default and 1000 at most per page", async () => {
    const get = (q: string) => fetch(`${sandbox.podUrl}/pod/v2/admin/user/list?${q}`, { headers });
    type Users = Array<{ userSystemInfo: { id: number }; userAttributes: { emailAddress: string } }>;
    const first = (await (await get("skip=0")).json()) as Users;
    const second = (await (await get("skip=100&limit=100")).json()) as Users;
    expect(first).toHaveLength(100);
    expect(second).toHaveLength(181 - 100);
    expect(new Set([...first, ...second].map((u) => u.userSystemInfo.id)).size).toBe(181);
    expect((await (await get("limit=1000")).json()) as Users).toHaveLength(181);
    expect((await get("limit=1001")).status).toBe(400);
    expect((await get("skip=-1")).status).toBe(400);
  });

  it("finds users by id or email; local=true leaves out other companies", async () => {
    const [ours, theirs] = [
      sandbox.org.people.find((p) => p.symphonyEmail !== p.m365Address)!,
      sandbox.org.people.find((p) => p.external)!,
    ];
    const byEmail = await fetch(
      `${sandbox.podUrl}/pod/v3/users?email=${ours.symphonyEmail},${theirs.symphonyEmail}&local=true`,
      { headers },
    );
    expect(await byEmail.json()).toEqual({
      users: [
        expect.objectContaining({
          id: ours.id,
          emailAddress: ours.symphonyEmail,
          username: ours.userName,
          company: ours.company,
        }),
      ],
    });
    const byId = (await (
      await fetch(`${sandbox.podUrl}/pod/v3/users?uid=${theirs.id}&local=false`, { headers })
    ).json()) as { users: unknown[] };
    expect(byId.users).toHaveLength(1);
    expect((await fetch(`${sandbox.podUrl}/pod/v3/users?uid=1&email=a@b.c`, { headers })).status).toBe(400);
  });
});

describe("admin stream list", () => {
  const list = (query: string, filter: unknown) =>
    postJson(`${sandbox.podUrl}/pod/v1/admin/streams/list?${query}`, filter, headers);

  // Walls are never in the admin list: they are listed per user (below).
  const conversations = () => sandbox.org.streams.filter((s) => s.type !== "POST");

  it("pages all streams but walls oldest first, 100 at most per page", async () => {
    const first = (await (await list("skip=0&limit=100", {})).json()) as StreamPage;
    const second = (await (await list("skip=100&limit=100", {})).json()) as StreamPage;
    expect(first.count).toBe(conversations().length);
    expect(first.streams).toHaveLength(100);
    const all = [...first.streams, ...second.streams];
    expect(new Set(all.map((s) => s.id))).toEqual(new Set(conversations().map((s) => s.id)));
    const dates = all.map((s) => s.attributes.createdDate);
    expect(dates).toEqual([...dates].sort((a, b) => a - b));
    expect((await list("limit=101", {})).status).toBe(400);
  });

  it("filters by type, scope, origin, status and dates", async () => {
    const rooms = (await (await list("limit=100", { streamTypes: [{ type: "ROOM" }] })).json()) as StreamPage;
    expect(rooms.count).toBe(sandbox.org.streams.filter((s) => s.type === "ROOM").length);
    // Group chats are rooms marked groupChat (SBE 20.16), without a name; the other rooms have one.
    const [groupChats, named] = [true, false].map((flag) =>
      rooms.streams.filter((s) => s.attributes.groupChat === flag),
    );
    expect(groupChats!.length).toBeGreaterThan(0);
    expect(groupChats!.every((s) => !s.attributes.roomName)).toBe(true);
    expect(named!.length + groupChats!.length).toBe(rooms.streams.length);
    expect(named!.every((s) => s.attributes.roomName)).toBe(true);
    const external = (await (await list("limit=100", { scope: "EXTERNAL" })).json()) as StreamPage;
    expect(external.count).toBe(conversations().filter((s) => s.scope === "EXTERNAL").length);
    expect(external.count).toBeGreaterThan(0);
    const theirOrigin = (await (await list("limit=100", { origin: "EXTERNAL" })).json()) as StreamPage;
    expect(theirOrigin.count).toBe(conversations().filter((s) => s.origin === "EXTERNAL").length);
    const inactive = (await (await list("limit=100", { status: "INACTIVE" })).json()) as StreamPage;
    expect(inactive.count).toBeGreaterThan(0);
    expect(inactive.streams.every((s) => !s.isActive)).toBe(true);
    const ims = sandbox.org.streams.filter((s) => s.type === "IM").sort((a, b) => a.createdDate - b.createdDate);
    const middle = ims[Math.floor(ims.length / 2)]!.createdDate;
    const late = (await (
      await list("limit=100", { streamTypes: [{ type: "IM" }], startDate: middle })
    ).json()) as StreamPage;
    expect(late.count).toBe(ims.filter((s) => s.createdDate >= middle).length);
    expect((await list("limit=10", { streamTypes: [{ type: "CHAT" }] })).status).toBe(400);
    // "Valid values are IM, MIM or ROOM" (V2AdminStreamFilter).
    expect((await list("limit=10", { streamTypes: [{ type: "IM" }, { type: "POST" }] })).status).toBe(400);
  });

  it("pages the members of a stream", async () => {
    const room = sandbox.org.streams
      .filter((s) => s.type === "ROOM")
      .sort((a, b) => b.memberIds.length - a.memberIds.length)[0]!;
    const url = (q: string) => `${sandbox.podUrl}/pod/v1/admin/stream/${room.id}/membership/list?${q}`;
    const page = (await (await fetch(url("skip=1&limit=2"), { headers })).json()) as {
      count: number;
      members: Array<{ user: { userId: number; isExternal: boolean }; isCreator: boolean }>;
    };
    // The current members: someone who left the room is absent (membership.test.ts).
    const current = sandbox.currentMembers(room.id).map((m) => m.person.id);
    expect(page.count).toBe(current.length);
    expect(page.members.map((m) => m.user.userId)).toEqual(current.slice(1, 3));
    expect((await fetch(`${sandbox.podUrl}/pod/v1/admin/stream/nope/membership/list`, { headers })).status).toBe(404);
  });
});

describe("streams of one user (admin)", () => {
  type UserStream = {
    id: string;
    active: boolean;
    streamType: { type: string };
    streamAttributes?: { members: number[] };
  };
  const listOf = (uid: number | string, filter: unknown, query = "") =>
    postJson(`${sandbox.podUrl}/pod/v1/admin/user/${uid}/streams/list?${query}`, filter, headers);

  it("lists a user's wall, and every active stream of theirs oldest first", async () => {
    const wall = sandbox.org.streams.find((s) => s.type === "POST")!;
    const [author] = wall.memberIds;
    const walls = (await (await listOf(author!, { streamTypes: [{ type: "POST" }] })).json()) as UserStream[];
    expect(walls).toEqual([
      expect.objectContaining({ id: wall.id, streamType: { type: "POST" }, streamAttributes: { members: [author] } }),
    ]);
    const theirs = (await (await listOf(author!, {}, "limit=1000")).json()) as UserStream[];
    const expected = sandbox.org.streams
      .filter((s) => s.isActive && sandbox.currentMembers(s.id).some((m) => m.person.id === author))
      .sort((a, b) => a.createdDate - b.createdDate);
    expect(theirs.map((s) => s.id)).toEqual(expected.map((s) => s.id));
  });

  it("answers 204 when the user has no such stream, 404 to an unknown user and 400 to a bad filter", async () => {
    const withoutWall = sandbox.org.people.find(
      (p) => !p.external && !sandbox.org.streams.some((s) => s.type === "POST" && s.memberIds.includes(p.id)),
    )!;
    expect((await listOf(withoutWall.id, { streamTypes: [{ type: "POST" }] })).status).toBe(204);
    expect((await listOf(42, {})).status).toBe(404);
    expect((await listOf(withoutWall.id, { streamTypes: [{ type: "WALL" }] })).status).toBe(400);
  });
});
