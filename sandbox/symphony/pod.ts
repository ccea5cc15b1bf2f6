// Pod endpoints (login, users, streams, membership) and the key manager's login.
import type { IncomingMessage, ServerResponse } from "node:http";
import { z } from "zod";
import { sendJson } from "../http";
import { messageTimestamp, personById, type OrgStream, type Person } from "../org";
import { verifyLoginJwt, type TokenKind } from "./auth";
import { body, fail, paging, query, route, type Context, type Route } from "./context";

const loginBody = z.object({ token: z.string().min(1) });

function login(kind: TokenKind) {
  return async (ctx: Context, req: IncomingMessage, res: ServerResponse) => {
    const input = await body(req, res, loginBody);
    if (!input) return;
    const result = await verifyLoginJwt(input.token, ctx.botKey, ctx.org.bot.userName);
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
const streamFilter = z
  .object({
    streamTypes: z.array(z.object({ type: streamType })).optional(),
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
  const lastAdded = ctx.added.get(stream.id)?.at(-1);
  if (lastAdded) return lastAdded.timestamp;
  return stream.messageCount > 0 ? messageTimestamp(ctx.org, stream, stream.messageCount - 1) : undefined;
}

function adminStream(ctx: Context, stream: OrgStream) {
  const origin = personById(ctx.org, stream.createdByUserId)!;
  return {
    id: stream.id,
    isExternal: stream.origin === "EXTERNAL",
    isActive: stream.isActive,
    isPublic: stream.isPublic,
    type: stream.type,
    attributes: {
      ...(stream.roomName ? { roomName: stream.roomName, roomDescription: stream.roomDescription } : {}),
      members: stream.memberIds,
      createdByUserId: stream.createdByUserId,
      createdDate: stream.createdDate,
      lastModifiedDate: stream.lastModifiedDate,
      originCompany: origin.company,
      originCompanyId: origin.companyId,
      membersCount: stream.memberIds.length,
      lastMessageDate: lastMessageDate(ctx, stream),
    },
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
  {
    method: "GET",
    path: "/pod/v2/admin/user/list",
    auth: "session",
    admin: true,
    handle(ctx, _req, res, url) {
      const q = query(res, url, z.object(paging(100, 100)));
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
      const all = ctx.org.streams.filter((s) => matches(s, filter)).sort((a, b) => a.createdDate - b.createdDate);
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
      const q = query(res, url, z.object(paging(1000, 100)));
      if (!q) return;
      const members = stream.memberIds.slice(q.skip, q.skip + q.limit).map((id) => {
        const p = personById(ctx.org, id)!;
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
          isOwner: stream.ownerIds.includes(id),
          isCreator: stream.createdByUserId === id,
          joinDate: stream.createdDate,
        };
      });
      sendJson(res, 200, { count: stream.memberIds.length, skip: q.skip, limit: q.limit, members });
    },
  }),
];

export const keyManagerRoutes: Route[] = [
  { method: "POST", path: "/relay/pubkey/authenticate", auth: "none", handle: login("keyManagerToken") },
];
