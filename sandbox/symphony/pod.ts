// Pod endpoints (login, users, streams, membership) and the key manager's login.
import type { IncomingMessage, ServerResponse } from "node:http";
import { z } from "zod";
import { sendJson } from "../http";
import { messageTimestamp, personById, type OrgStream, type Person } from "../org";
import { verifyLoginJwt, type TokenKind } from "./auth";
import { body, fail, paging, query, route, type Context, type Route } from "./context";
import { currentMembers } from "./membership";
import { addedInTimeOrder } from "./messages";

const loginBody = z.object({ token: z.string().min(1) });

function login(kind: TokenKind) {
  return async (ctx: Context, req: IncomingMessage, res: ServerResponse) => {
    const input = await body(req, res, loginBody);
    if (!input) return;
    const result = await verifyLoginJwt(input.token, ctx.botKey, ctx.org.bot.userName, ctx.now());
    if (!result.ok) return fail(res, 401, result.message);
    sendJson(res, 200, { name: kind, token: ctx.tokens.issue(kind) });
  };
}

function userDetail(person: Person, createdDate: number) {
  return {
    userAttributes: {
      emailAddress: person.symphonyEmail,
      firstName: person.firstName,
      lastName: person.lastName,
      userName: person.userName,
      displayName: person.displayName,
      companyName: person.company,
      accountType: person.accountType,
    },
    userSystemInfo: { id: person.id, status: person.status, createdDate, lastUpdatedDate: createdDate },
    roles: person.accountType === "SYSTEM" ? ["INDIVIDUAL", "USER_PROVISIONING", "CONTENT_MANAGEMENT"] : ["INDIVIDUAL"],
  };
}

function userV2(person: Person) {
  return {
    id: person.id,
    emailAddress: person.symphonyEmail,
    firstName: person.firstName,
    lastName: person.lastName,
    displayName: person.displayName,
    username: person.userName,
    company: person.company,
    accountType: person.accountType,
    avatars: [],
  };
}

const streamType = z.enum(["IM", "MIM", "ROOM", "POST"]);
// V2AdminStreamFilter: "Valid values are IM, MIM or ROOM"; walls (POST) are listed per user.
const adminStreamType = z.enum(["IM", "MIM", "ROOM"]);
const streamFilter = z
  .object({
    streamTypes: z.array(z.object({ type: adminStreamType })).optional(),
    scope: z.enum(["INTERNAL", "EXTERNAL"]).optional(),
    origin: z.enum(["INTERNAL", "EXTERNAL"]).optional(),
    privacy: z.enum(["PUBLIC", "PRIVATE"]).optional(),
    status: z.enum(["ACTIVE", "INACTIVE"]).optional(),
    startDate: z.number().int().min(0).optional(),
    endDate: z.number().int().min(0).optional(),
  })
  .optional();

function matches(stream: OrgStream, filter: z.infer<typeof streamFilter>): boolean {
  if (!filter) return true;
  if (filter.streamTypes && filter.streamTypes.length > 0 && !filter.streamTypes.some((t) => t.type === stream.type))
    return false;
  if (filter.scope && stream.scope !== filter.scope) return false;
  if (filter.origin && stream.origin !== filter.origin) return false;
  if (filter.privacy && stream.type === "ROOM" && (stream.isPublic ? "PUBLIC" : "PRIVATE") !== filter.privacy)
    return false;
  if (filter.status && (stream.isActive ? "ACTIVE" : "INACTIVE") !== filter.status) return false;
  // Rooms are filtered on their last modification, IMs and group chats (immutable) on creation.
  const date = stream.type === "ROOM" ? stream.lastModifiedDate : stream.createdDate;
  if (filter.startDate !== undefined && date < filter.startDate) return false;
  if (filter.endDate !== undefined && date > filter.endDate) return false;
  return true;
}

function lastMessageDate(ctx: Context, stream: OrgStream): number | undefined {
  const lastAdded = addedInTimeOrder(ctx.added, stream.id).at(-1);
  if (lastAdded) return lastAdded.timestamp;
  return stream.messageCount > 0 ? messageTimestamp(ctx.org, stream, stream.messageCount - 1) : undefined;
}

function adminStream(ctx: Context, stream: OrgStream) {
  const origin = personById(ctx.org, stream.createdByUserId)!;
  const members = currentMembers(ctx.org, stream);
  return {
    id: stream.id,
    isExternal: stream.origin === "EXTERNAL",
    isActive: stream.isActive,
    isPublic: stream.isPublic,
    type: stream.type,
    attributes: {
      ...(stream.roomName ? { roomName: stream.roomName, roomDescription: stream.roomDescription } : {}),
      // "list of userid who is member of the stream - im or mim only" (V2AdminStreamAttributes)
      ...(stream.type === "IM" || stream.type === "MIM" ? { members: members.map((m) => m.person.id) } : {}),
      createdByUserId: stream.createdByUserId,
      createdDate: stream.createdDate,
      lastModifiedDate: stream.lastModifiedDate,
      originCompany: origin.company,
      originCompanyId: origin.companyId,
      membersCount: members.length,
      lastMessageDate: lastMessageDate(ctx, stream),
      // "whether a stream is a group chat or not. Since SBE 20.16." (V2AdminStreamAttributes)
      ...(stream.type === "ROOM" ? { groupChat: stream.groupChat } : {}),
    },
  };
}

const userStreamFilter = z
  .object({
    streamTypes: z.array(z.object({ type: streamType })).optional(),
    includeInactiveStreams: z.boolean().optional(),
  })
  .optional();

/** StreamAttributes, an item of POST /pod/v1/streams/list (the caller's own streams). */
function userStream(ctx: Context, stream: OrgStream) {
  return {
    id: stream.id,
    crossPod: stream.scope === "EXTERNAL",
    active: stream.isActive,
    streamType: { type: stream.type },
    ...(stream.type === "ROOM"
      ? { roomAttributes: stream.roomName ? { name: stream.roomName } : {} }
      : { streamAttributes: { members: currentMembers(ctx.org, stream).map((m) => m.person.id) } }),
  };
}

const csv = (pattern: RegExp) =>
  z
    .string()
    .transform((s) =>
      s
        .split(",")
        .map((x) => x.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.string().regex(pattern)).min(1).max(100));
const v3Users = z
  .object({
    uid: csv(/^\d+$/).optional(),
    email: csv(/^[^@\s]+@[^@\s]+$/).optional(),
    local: z.enum(["true", "false"]).default("false"),
  })
  .refine((q) => (q.uid === undefined) !== (q.email === undefined), "give either uid or email, not both");

export const podRoutes: Route[] = [
  { method: "POST", path: "/login/pubkey/authenticate", auth: "none", handle: login("sessionToken") },
  // Session User: the caller's own UserV2, no admin role needed.
  {
    method: "GET",
    path: "/pod/v2/sessioninfo",
    auth: "session",
    handle: (ctx, _req, res) => sendJson(res, 200, userV2(ctx.org.bot)),
  },
  {
    method: "POST",
    path: "/pod/v1/streams/list",
    auth: "session",
    async handle(ctx, req, res, url) {
      const q = query(res, url, z.object(paging(1000, 50)));
      if (!q) return;
      const filter = await body(req, res, userStreamFilter);
      if (filter === null) return;
      const types = filter?.streamTypes?.map((t) => t.type) ?? [];
      const mine = ctx.org.streams
        .filter((s) => s.botIsMember && (types.length === 0 || types.includes(s.type)))
        .filter((s) => s.isActive || filter?.includeInactiveStreams === true)
        .sort((a, b) => a.createdDate - b.createdDate);
      const page = mine.slice(q.skip, q.skip + q.limit).map((s) => userStream(ctx, s));
      // The spec's 204 "Stream not found": nothing (more) to list.
      if (page.length === 0) return void res.writeHead(204).end();
      sendJson(res, 200, page);
    },
  },
  // "Retrieve a list of all streams of which this user is a member, sorted by creation date
  // (ascending). Since SBE 20.16." The only way to list walls (POST): the admin list refuses them.
  route({
    method: "POST",
    path: "/pod/v1/admin/user/{uid}/streams/list",
    auth: "session",
    admin: true,
    async handle(ctx, req, res, url, params) {
      const user = /^\d+$/.test(params.uid) ? personById(ctx.org, Number(params.uid)) : undefined;
      if (!user) return fail(res, 404, `User ${params.uid} not found`);
      const q = query(res, url, z.object(paging(1000, 50)));
      if (!q) return;
      const filter = await body(req, res, userStreamFilter);
      if (filter === null) return;
      const types = new Set(filter?.streamTypes?.map((t) => t.type));
      const theirs = ctx.org.streams
        .filter((s) => (types.size === 0 || types.has(s.type)) && (s.isActive || filter?.includeInactiveStreams))
        .filter((s) => currentMembers(ctx.org, s).some((m) => m.person.id === user.id))
        .sort((a, b) => a.createdDate - b.createdDate);
      const page = theirs.slice(q.skip, q.skip + q.limit).map((s) => userStream(ctx, s));
      if (page.length === 0) return void res.writeHead(204).end();
      sendJson(res, 200, page);
    },
  }),
  {
    method: "GET",
    path: "/pod/v2/admin/user/list",
    auth: "session",
    admin: true,
    handle(ctx, _req, res, url) {
      // "Default is 100. Must be a positive integer and must not exceed 1000."
      const q = query(res, url, z.object(paging(1000, 100)));
      if (!q) return;
      const everyone = [ctx.org.bot, ...ctx.org.people];
      sendJson(
        res,
        200,
        everyone.slice(q.skip, q.skip + q.limit).map((p) => userDetail(p, ctx.org.period.start - 400 * 86_400_000)),
      );
    },
  },
  {
    method: "GET",
    path: "/pod/v3/users",
    auth: "session",
    handle(ctx, _req, res, url) {
      const q = query(res, url, v3Users);
      if (!q) return;
      const everyone = [ctx.org.bot, ...ctx.org.people];
      // local=true searches our own pod only; external people are found only with local=false.
      const searchable = q.local === "true" ? everyone.filter((p) => !p.external) : everyone;
      const found = q.uid
        ? q.uid.map((id) => searchable.find((p) => String(p.id) === id))
        : q.email!.map((email) => searchable.find((p) => p.symphonyEmail.toLowerCase() === email.toLowerCase()));
      sendJson(res, 200, { users: found.filter((p): p is Person => p !== undefined).map(userV2) });
    },
  },
  ...["/pod/v1/admin/streams/list", "/pod/v2/admin/streams/list"].map((path): Route => ({
    method: "POST",
    path,
    auth: "session",
    admin: true,
    async handle(ctx, req, res, url) {
      const q = query(res, url, z.object(paging(100, 50)));
      if (!q) return;
      const filter = await body(req, res, streamFilter);
      if (filter === null) return;
      const all = ctx.org.streams
        .filter((s) => s.type !== "POST" && matches(s, filter))
        .sort((a, b) => a.createdDate - b.createdDate);
      const page = all.slice(q.skip, q.skip + q.limit).map((s) => adminStream(ctx, s));
      sendJson(res, 200, { count: all.length, skip: q.skip, limit: q.limit, filter: filter ?? {}, streams: page });
    },
  })),
  route({
    method: "GET",
    path: "/pod/v1/admin/stream/{sid}/membership/list",
    auth: "session",
    admin: true,
    handle(ctx, _req, res, url, params) {
      const stream = ctx.streamsById.get(params.sid);
      if (!stream) return fail(res, 404, `Stream ${params.sid} not found`);
      // "The stream can be of type IM, MIM, or ROOM" (pod-api-public.yaml): not a wall. What a pod
      // answers for one is not documented; a bad request here.
      if (stream.type === "POST") return fail(res, 400, `Stream ${params.sid} is a wall: it has no membership list`);
      const q = query(res, url, z.object(paging(1000, 100)));
      if (!q) return;
      const current = currentMembers(ctx.org, stream);
      const members = current.slice(q.skip, q.skip + q.limit).map(({ person: p, joinDate }) => {
        return {
          user: {
            userId: p.id,
            email: p.symphonyEmail,
            firstName: p.firstName,
            lastName: p.lastName,
            displayName: p.displayName,
            company: p.company,
            companyId: p.companyId,
            isExternal: p.external,
          },
          isOwner: stream.ownerIds.includes(p.id),
          isCreator: stream.createdByUserId === p.id,
          joinDate,
        };
      });
      sendJson(res, 200, { count: current.length, skip: q.skip, limit: q.limit, members });
    },
  }),
  route({
    method: "GET",
    path: "/pod/v3/room/{id}/info",
    auth: "session",
    handle(ctx, _req, res, _url, params) {
      const stream = ctx.streamsById.get(params.id);
      if (!stream || stream.type !== "ROOM") return fail(res, 404, `Room ${params.id} not found`);
      // Room Info v3: "Members of the room; Compliance Officers and Super Compliance Officers who are not
      // members of the room; Service Users with the User Provisioning role (members or not members of the room)".
      const member = currentMembers(ctx.org, stream).some((m) => m.person.id === ctx.org.bot.id);
      if (!member && !ctx.botIsAdmin) return fail(res, 403, "The caller lacks the necessary entitlement");
      sendJson(res, 200, {
        roomAttributes: {
          name: stream.roomName ?? "",
          ...(stream.roomDescription ? { description: stream.roomDescription } : {}),
          discoverable: stream.isPublic,
          crossPod: stream.scope === "EXTERNAL",
          // V3RoomAttributes: "If true, this room is a group chat. ... Since SBE 20.16."
          groupChat: stream.groupChat,
        },
        roomSystemInfo: {
          id: stream.id,
          creationDate: stream.createdDate,
          createdByUserId: stream.createdByUserId,
          active: stream.isActive,
        },
      });
    },
  }),
];

export const keyManagerRoutes: Route[] = [
  { method: "POST", path: "/relay/pubkey/authenticate", auth: "none", handle: login("keyManagerToken") },
];
