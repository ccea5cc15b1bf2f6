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
  attributes: { createdDate: number; members: number[]; roomName?: string };
};
type StreamPage = { count: number; skip: number; limit: number; streams: AdminStream[] };

describe("admin user list and v3 lookup", () => {
  it("pages every user, 100 at most per page", async () => {
    const get = (q: string) => fetch(`${sandbox.podUrl}/pod/v2/admin/user/list?${q}`, { headers });
    const first = (await (await get("skip=0&limit=100")).json()) as Array<{
      userSystemInfo: { id: number };
      userAttributes: { emailAddress: string };
    }>;
    const second = (await (await get("skip=100&limit=100")).json()) as typeof first;
    expect(first).toHaveLength(100);
    expect(second).toHaveLength(181 - 100);
    expect(new Set([...first, ...second].map((u) => u.userSystemInfo.id)).size).toBe(181);
    expect((await get("limit=101")).status).toBe(400);
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

  it("pages all streams oldest first, 100 at most per page", async () => {
    const first = (await (await list("skip=0&limit=100", {})).json()) as StreamPage;
    const second = (await (await list("skip=100&limit=100", {})).json()) as StreamPage;
    expect(first.count).toBe(sandbox.org.streams.length);
    expect(first.streams).toHaveLength(100);
    const all = [...first.streams, ...second.streams];
    expect(new Set(all.map((s) => s.id))).toEqual(new Set(sandbox.org.streams.map((s) => s.id)));
    const dates = all.map((s) => s.attributes.createdDate);
    expect(dates).toEqual([...dates].sort((a, b) => a - b));
    expect((await list("limit=101", {})).status).toBe(400);
  });

  it("filters by type, scope, origin, status and dates", async () => {
    const rooms = (await (await list("limit=100", { streamTypes: [{ type: "ROOM" }] })).json()) as StreamPage;
    expect(rooms.count).toBe(sandbox.org.streams.filter((s) => s.type === "ROOM").length);
    expect(rooms.streams.every((s) => s.type === "ROOM" && s.attributes.roomName)).toBe(true);
    const external = (await (await list("limit=100", { scope: "EXTERNAL" })).json()) as StreamPage;
    expect(external.count).toBe(sandbox.org.streams.filter((s) => s.scope === "EXTERNAL").length);
    expect(external.count).toBeGreaterThan(0);
    const theirOrigin = (await (await list("limit=100", { origin: "EXTERNAL" })).json()) as StreamPage;
    expect(theirOrigin.count).toBe(sandbox.org.streams.filter((s) => s.origin === "EXTERNAL").length);
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
    expect(page.count).toBe(room.memberIds.length);
    expect(page.members.map((m) => m.user.userId)).toEqual(room.memberIds.slice(1, 3));
    expect((await fetch(`${sandbox.podUrl}/pod/v1/admin/stream/nope/membership/list`, { headers })).status).toBe(404);
  });
});
