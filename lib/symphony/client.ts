import { Readable } from "node:stream";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import type { z } from "zod";
import { createSession } from "./auth";
import { createBase64Decoder } from "./base64-decode";
import { ResponseTooLargeError, SymphonyError } from "./errors";
import {
  readJson,
  send,
  statusError,
  type HttpOptions,
  type HttpRequest,
  type ResponseEvent,
  type RetryEvent,
} from "./http";
import { nextMessageCursor, toUrlSafeId, tooLargeMessage, type MessageCursor } from "./messages";
import { defaultRetryPolicy, type RetryPolicy } from "./retry";
import {
  adminStreamListSchema,
  roomDetailSchema,
  type RoomDetail,
  adminUserListSchema,
  datafeedListSchema,
  datafeedReadSchema,
  datafeedSchema,
  datahoseReadSchema,
  messageListSchema,
  memberStreamListSchema,
  streamMemberListSchema,
  userListSchema,
  userSchema,
  type AdminStream,
  type AdminUser,
  type Datafeed,
  type DatafeedRead,
  type DatahoseRead,
  type StreamMember,
  type StreamType,
  type SymphonyMessage,
  type SymphonyUser,
} from "./schemas";
import { parseSymphonySettings, type SymphonySettings, type SymphonySettingsInput } from "./settings";
import { config } from "@/lib/config";
import { symphonyDispatcher } from "./network";

export type SymphonyClientOptions = {
  retry?: Partial<RetryPolicy>;
  /** Time allowed until response headers arrive; above the datafeed's ~30 s long poll. */
  requestTimeoutMs?: number;
  onRetry?: (event: RetryEvent) => void;
  onResponse?: (event: ResponseEvent) => void;
  /**
   * Whether the pod, agent and key manager may be on loopback, link-local or private addresses (an
   * agent or key manager on premises); default SYMPHONY_ALLOW_PRIVATE_HOSTS.
   */
  allowPrivateHosts?: boolean;
  /** Page sizes; the defaults are Symphony's maxima. */
  pageSize?: Partial<Record<"users" | "streams" | "members" | "messages", number>>;
  /** The most a JSON answer may hold (MAX_JSON_BYTES); a message page over it is asked for again in halves. */
  maxResponseBytes?: number;
};

/** Body of the admin stream list; every field optional (pod-api-public.yaml V2AdminStreamFilter). */
export type StreamFilter = {
  /**
   * Kinds of conversation (none: every kind): IM one-to-one chats; MIM group chats, both the MIM
   * streams and the ROOMs marked `groupChat` (SBE 20.16+); ROOM the other rooms; POST walls. Walls
   * are listed per user and heed only `status`.
   */
  streamTypes?: StreamType[];
  scope?: "INTERNAL" | "EXTERNAL";
  origin?: "INTERNAL" | "EXTERNAL";
  privacy?: "PUBLIC" | "PRIVATE";
  status?: "ACTIVE" | "INACTIVE";
  /** Epoch ms: streams modified (rooms) or created (IM, MIM) at or after. */
  startDate?: number;
  endDate?: number;
};

export type SymphonyClient = {
  readonly settings: Omit<SymphonySettings, "privateKeyPem">;
  /** Signs in to the pod and the key manager now (otherwise done on the first call). */
  authenticate(): Promise<void>;
  /** Every user of the pod (admin). */
  listUsers(): Promise<AdminUser[]>;
  /**
   * Users by id or by email (pod v3 users), 100 per request; unknown ones are simply absent.
   * `local` (default true) searches our pod only; false also finds visible users of other pods.
   */
  lookupUsers(query: { ids?: number[]; emails?: string[]; local?: boolean }): Promise<SymphonyUser[]>;
  /**
   * Pages of the company's conversations of the kinds asked for (admin): those of the admin stream
   * list oldest first (types it does not know are left out), then the walls, one request per user.
   */
  listStreams(filter?: StreamFilter): AsyncGenerator<AdminStream[]>;
  /** Number of conversations listStreams gives: from the admin list's count when that is exact. */
  countStreams(filter?: StreamFilter): Promise<number>;
  /** The signed-in account itself (GET /pod/v2/sessioninfo; no admin role needed). */
  sessionInfo(): Promise<SymphonyUser>;
  /**
   * The streams the signed-in account is a member of, inactive ones included (POST /pod/v1/streams/list,
   * paged): the conversations it can read. Asked by the API's own types: group chats (MIM) bring the
   * ROOMs too, which only the admin list tells apart (`groupChat`).
   */
  memberStreams(filter?: { streamTypes?: StreamType[] }): Promise<Array<{ id: string; type: string | undefined }>>;
  /** Every member (current and past) of a stream (admin). */
  listStreamMembers(streamId: string): Promise<StreamMember[]>;
  /**
   * A room's details (GET /pod/v3/room/{id}/info): whether it is a group chat, which a message's
   * stream does not say. Members, and service users with User Provisioning, may ask.
   */
  roomInfo(streamId: string): Promise<RoomDetail>;
  /** Pages of a stream's messages stamped at or after sinceMs, oldest first, each exactly once. */
  messages(streamId: string, sinceMs?: number): AsyncGenerator<SymphonyMessage[]>;
  /** The attachment's bytes (decoded from the API's base64), streamed. */
  downloadAttachment(streamId: string, messageId: string, attachmentId: string): Promise<Readable>;
  createDatafeed(tag?: string): Promise<Datafeed>;
  listDatafeeds(tag?: string): Promise<Datafeed[]>;
  /** Long-polls the feed; pass the previous read's ackId to acknowledge its events. */
  readDatafeed(datafeedId: string, ackId?: string): Promise<DatafeedRead>;
  deleteDatafeed(datafeedId: string): Promise<void>;
  /**
   * One read of the Datahose (POST /agent/v5/events/read, a paid add-on: 403 without it): every
   * conversation of the pod. Readers with the same tag and event types share one feed; `ackId` (empty
   * the first time) acknowledges the previous read's events, which are otherwise delivered again.
   */
  readDatahose(request: DatahoseReadRequest, signal?: AbortSignal): Promise<DatahoseRead>;
};

/** V5EventsReadBody (agent-api-public.yaml): tag 1..80 characters, at least one event type. */
export type DatahoseReadRequest = {
  tag: string;
  eventTypes: string[];
  ackId: string;
  scopes?: Array<"INTERNAL" | "EXTERNAL" | "FEDERATED">;
};

/** pod-api-public.yaml: user list and membership "must not exceed 1000", admin stream list 100. */
const MAX_PAGE = { users: 1000, streams: 100, members: 1000, messages: 500 };
const LOOKUP_BATCH = 100;

/** Messages each too large to read alone, with none read between, past which the stream's answers are taken as broken. */
const MAX_TOO_LARGE_IN_A_ROW = 20;

export function createSymphonyClient(
  settingsInput: SymphonySettingsInput | SymphonySettings,
  options: SymphonyClientOptions = {},
): SymphonyClient {
  const settings = parseSymphonySettings(settingsInput);
  const allowPrivateHosts = options.allowPrivateHosts ?? config().SYMPHONY_ALLOW_PRIVATE_HOSTS;
  const http: HttpOptions = {
    retry: { ...defaultRetryPolicy, ...options.retry },
    requestTimeoutMs: options.requestTimeoutMs ?? 90_000,
    onRetry: options.onRetry,
    onResponse: options.onResponse,
    allowPrivateHosts,
    dispatcher: symphonyDispatcher(allowPrivateHosts),
  };
  const pageSize = { ...MAX_PAGE, ...options.pageSize };
  const session = createSession(settings, http);

  type Call = {
    host: "pod" | "agent";
    method: HttpRequest["method"];
    path: string;
    /** Path with placeholders, for errors: "/agent/v4/stream/{sid}/message". */
    endpoint: string;
    query?: Record<string, string | number | undefined>;
    body?: unknown;
    /** What the endpoint produces when it is not JSON (an Accept the server does not serve gets 406). */
    accept?: string;
    signal?: AbortSignal;
  };

  /** One API call with the cached tokens; a 401 re-authenticates once and retries, then fails. */
  async function call({ host, method, path, endpoint, query, body, accept, signal }: Call): Promise<Response> {
    const url = new URL((host === "pod" ? settings.podUrl : settings.agentUrl) + path);
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const request: HttpRequest = { method, url, endpoint: `${method} ${endpoint}`, body, signal };
    for (let attempt = 1; ; attempt++) {
      const headers = host === "pod" ? await session.podHeaders() : await session.agentHeaders();
      const sent = { ...request, headers: accept ? { ...headers, accept } : headers, secrets: Object.values(headers) };
      const response = await send(sent, http);
      if (response.status !== 401) return response;
      const error = await statusError({ ...request, secrets: Object.values(headers) }, response);
      if (attempt === 2) throw error;
      session.invalidate(headers);
    }
  }

  async function json<S extends z.ZodType>(request: Call, schema: S, whenEmpty?: z.output<S>) {
    const response = await call(request);
    return readJson(response, schema, `${request.method} ${request.endpoint}`, whenEmpty, options.maxResponseBytes);
  }

  /** The pages of a skip/limit list endpoint (see pagesBySkip). */
  function listPages<S extends z.ZodType>(
    limit: number,
    request: Omit<Call, "query">,
    schema: S,
    sizeOf: (page: z.output<S>) => { read: number; count?: number },
    whenEmpty?: z.output<S>,
  ) {
    return pagesBySkip(limit, (skip) => json({ ...request, query: { skip, limit } }, schema, whenEmpty), sizeOf);
  }

  function streamPages(filter: StreamFilter, limit: number) {
    const path = "/pod/v2/admin/streams/list";
    const body = toStreamFilterBody(filter);
    return listPages(
      limit,
      { host: "pod", method: "POST", path, endpoint: path, body },
      adminStreamListSchema,
      (page) => ({ read: page.listed, count: page.count }),
    );
  }

  async function listUsers(): Promise<AdminUser[]> {
    const path = "/pod/v2/admin/user/list";
    const users: AdminUser[] = [];
    const pages = listPages(
      pageSize.users,
      { host: "pod", method: "GET", path, endpoint: path },
      adminUserListSchema,
      (page) => ({ read: page.length }),
      [],
    );
    for await (const page of pages) users.push(...page);
    return users;
  }

  /** Every user's wall: the admin stream list refuses POST, so each user's streams are asked for (SBE 20.16+). */
  async function* wallPages(status: StreamFilter["status"]) {
    const limit = pageSize.streams;
    for (const user of await listUsers()) {
      const uid = user.userSystemInfo.id;
      const pages = pagesBySkip(
        limit,
        (skip) =>
          json(
            {
              host: "pod",
              method: "POST",
              path: `/pod/v1/admin/user/${uid}/streams/list`,
              endpoint: "/pod/v1/admin/user/{uid}/streams/list",
              query: { skip, limit },
              body: { streamTypes: [{ type: "POST" }], includeInactiveStreams: status !== "ACTIVE" },
            },
            memberStreamListSchema,
            [], // 204: the user has no wall
          ).catch((error: unknown) => {
            // A user deleted since the user list was read has no wall to archive.
            if (error instanceof SymphonyError && error.code === "not_found") return [];
            throw error;
          }),
        (page) => ({ read: page.length }),
      );
      for await (const page of pages) {
        const walls = page
          .filter((stream) => stream.streamType?.type === "POST" && (status !== "INACTIVE" || stream.active === false))
          .map((stream) => wallStream(stream, uid));
        if (walls.length > 0) yield walls;
      }
    }
  }

  async function* listStreams(filter: StreamFilter = {}): AsyncGenerator<AdminStream[]> {
    const kinds = streamKinds(filter.streamTypes);
    const adminTypes = adminStreamTypes(kinds);
    if (adminTypes.length > 0) {
      for await (const page of streamPages({ ...filter, streamTypes: adminTypes }, pageSize.streams)) {
        // An entry that did not fit, of no kind that can be told, is passed on for its run to record.
        const streams = page.streams.filter((stream) => {
          const kind = kindOf(stream);
          return kind === undefined ? stream.invalid !== undefined : kinds.has(kind);
        });
        if (streams.length > 0) yield streams;
      }
    }
    if (kinds.has("POST")) yield* wallPages(filter.status);
  }

  return {
    settings: {
      podUrl: settings.podUrl,
      agentUrl: settings.agentUrl,
      keyManagerUrl: settings.keyManagerUrl,
      botUsername: settings.botUsername,
    },

    async authenticate() {
      // The pod first, so that a rejected key is reported the same way every time (the pod's message).
      await session.podHeaders();
      await session.agentHeaders();
    },

    listUsers,

    async lookupUsers({ ids = [], emails = [], local = true }) {
      const users: SymphonyUser[] = [];
      // Symphony takes one kind of list per request, at most 100 entries.
      const lookups = [
        ...chunks(ids, LOOKUP_BATCH).map((batch) => ({ uid: batch.join(",") })),
        ...chunks(emails, LOOKUP_BATCH).map((batch) => ({ email: batch.join(",") })),
      ];
      for (const lookup of lookups) {
        const page = await json(
          {
            host: "pod",
            method: "GET",
            path: "/pod/v3/users",
            endpoint: "/pod/v3/users",
            query: { ...lookup, local: String(local) },
          },
          userListSchema,
          { users: [] },
        );
        users.push(...page.users);
      }
      return users;
    },

    listStreams,

    async sessionInfo() {
      return json(
        { host: "pod", method: "GET", path: "/pod/v2/sessioninfo", endpoint: "/pod/v2/sessioninfo" },
        userSchema,
      );
    },

    async memberStreams({ streamTypes } = {}) {
      const kinds = streamKinds(streamTypes);
      const types = [...adminStreamTypes(kinds), ...(kinds.has("POST") ? (["POST"] as const) : [])];
      const body = { streamTypes: types.map((type) => ({ type })), includeInactiveStreams: true };
      const streams: Array<{ id: string; type: string | undefined }> = [];
      const path = "/pod/v1/streams/list";
      const pages = listPages(
        pageSize.streams,
        { host: "pod", method: "POST", path, endpoint: path, body },
        memberStreamListSchema,
        (page) => ({ read: page.length }),
        [], // 204: no (more) streams
      );
      for await (const page of pages)
        streams.push(...page.map((stream) => ({ id: stream.id, type: stream.streamType?.type })));
      return streams;
    },

    async countStreams(filter = {}) {
      const kinds = streamKinds(filter.streamTypes);
      // The admin list's count is exact unless group chats and rooms must be told apart, or walls counted.
      if (!kinds.has("POST") && kinds.has("MIM") === kinds.has("ROOM")) {
        for await (const page of streamPages({ ...filter, streamTypes: adminStreamTypes(kinds) }, 1)) return page.count;
        return 0;
      }
      let count = 0;
      for await (const page of listStreams(filter)) count += page.length;
      return count;
    },

    async listStreamMembers(streamId) {
      const members: StreamMember[] = [];
      const sid = encodeURIComponent(toUrlSafeId(streamId));
      const pages = listPages(
        pageSize.members,
        {
          host: "pod",
          method: "GET",
          path: `/pod/v1/admin/stream/${sid}/membership/list`,
          endpoint: "/pod/v1/admin/stream/{sid}/membership/list",
        },
        streamMemberListSchema,
        (page) => ({ read: page.listed, count: page.count }),
      );
      for await (const page of pages) members.push(...page.members);
      return members;
    },

    roomInfo(streamId) {
      return json(
        {
          host: "pod",
          method: "GET",
          path: `/pod/v3/room/${encodeURIComponent(toUrlSafeId(streamId))}/info`,
          endpoint: "/pod/v3/room/{id}/info",
        },
        roomDetailSchema,
      );
    },

    async *messages(streamId, sinceMs = 0) {
      const sid = encodeURIComponent(toUrlSafeId(streamId));
      let limit = pageSize.messages;
      let fullPagesSinceHalved = 0;
      let cursor: MessageCursor = { since: sinceMs, skip: 0 };
      /** The last message read, which a message too large to read comes after. */
      let lastRead = `the read from ${sinceMs}`;
      /** Messages too large to read since `lastRead` (what keys each apart). */
      let tooLargeSinceRead = 0;
      for (;;) {
        let page: z.output<typeof messageListSchema>;
        try {
          page = await json(
            {
              host: "agent",
              method: "GET",
              path: `/agent/v4/stream/${sid}/message`,
              endpoint: "/agent/v4/stream/{sid}/message",
              query: { since: cursor.since, skip: cursor.skip || undefined, limit },
            },
            messageListSchema,
            [], // 204: no messages
          );
        } catch (error) {
          if (!(error instanceof ResponseTooLargeError)) throw error;
          if (limit === 1) {
            // An answer always that large is the server's fault, not a message's: the stream is given up.
            if (++tooLargeSinceRead > MAX_TOO_LARGE_IN_A_ROW) throw error;
            // One message alone is over the limit: it fails alone, and the conversation is read on past it
            // (`skip` is an offset: "No. of messages to skip", agent-api-public.yaml). A message after it
            // stamped as it is may be read twice (its time is unknown), which the ledger's keys absorb.
            yield [tooLargeMessage(cursor, error.maxBytes, { after: lastRead, nth: tooLargeSinceRead })];
            cursor = { since: cursor.since, skip: cursor.skip + 1 };
            continue;
          }
          // A page too large to read (messages with large bodies or data): the same place, fewer at a time.
          limit = Math.ceil(limit / 2);
          fullPagesSinceHalved = 0;
          continue;
        }
        const full = page.length >= limit;
        if (page.length > 0) {
          const newest = page.findLast((message) => message.messageId)?.messageId;
          if (newest) {
            lastRead = newest;
            tooLargeSinceRead = 0;
          }
          yield page;
        }
        if (!full) return;
        cursor = nextMessageCursor(cursor, page);
        // Past the large messages, back up towards full pages (the cursor does not depend on the limit),
        // after a few pages read whole: each page refused as too large cost up to MAX_JSON_BYTES read.
        if (limit < pageSize.messages && ++fullPagesSinceHalved >= 4) {
          limit = Math.min(pageSize.messages, limit * 2);
          fullPagesSinceHalved = 0;
        }
      }
    },

    async downloadAttachment(streamId, messageId, attachmentId) {
      const endpoint = "/agent/v1/stream/{sid}/attachment";
      const response = await call({
        host: "agent",
        method: "GET",
        path: `/agent/v1/stream/${encodeURIComponent(toUrlSafeId(streamId))}/attachment`,
        endpoint,
        query: { fileId: attachmentId, messageId: toUrlSafeId(messageId) },
        // "produces application/octet-stream" (agent-api-public.yaml): the agent answers 406 to a JSON-only Accept.
        accept: "application/octet-stream",
      });
      if (!response.body) {
        throw new SymphonyError({
          code: "invalid_response",
          endpoint: `GET ${endpoint}`,
          message: "attachment response has no body",
        });
      }
      const body = Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
      // A body that is not base64 is this attachment's problem (a proxy's error page, a broken file), not the agent's.
      const decoder = createBase64Decoder(
        (reason) => new SymphonyError({ code: "invalid_response", endpoint: `GET ${endpoint}`, message: reason }),
      );
      body.on("error", (error) =>
        decoder.destroy(
          new SymphonyError({
            code: "network",
            endpoint: `GET ${endpoint}`,
            message: "download interrupted",
            cause: error,
          }),
        ),
      );
      return body.pipe(decoder);
    },

    async createDatafeed(tag) {
      return json(
        {
          host: "agent",
          method: "POST",
          path: "/agent/v5/datafeeds",
          endpoint: "/agent/v5/datafeeds",
          body: tag ? { tag } : {},
        },
        datafeedSchema,
      );
    },

    async listDatafeeds(tag) {
      return json(
        { host: "agent", method: "GET", path: "/agent/v5/datafeeds", endpoint: "/agent/v5/datafeeds", query: { tag } },
        datafeedListSchema,
        [],
      );
    },

    async readDatafeed(datafeedId, ackId = "") {
      return json(
        {
          host: "agent",
          method: "POST",
          path: `/agent/v5/datafeeds/${encodeURIComponent(datafeedId)}/read`,
          endpoint: "/agent/v5/datafeeds/{datafeedId}/read",
          body: { ackId },
        },
        datafeedReadSchema,
      );
    },

    async readDatahose({ tag, eventTypes, ackId, scopes }, signal) {
      return json(
        {
          host: "agent",
          method: "POST",
          path: "/agent/v5/events/read",
          endpoint: "/agent/v5/events/read",
          // updatePresence defaults to true: a compliance reader must not show its account as AVAILABLE.
          body: { type: "datahose", tag, eventTypes, ackId, updatePresence: false, ...(scopes ? { scopes } : {}) },
          signal,
        },
        datahoseReadSchema,
      );
    },

    async deleteDatafeed(datafeedId) {
      const response = await call({
        host: "agent",
        method: "DELETE",
        path: `/agent/v5/datafeeds/${encodeURIComponent(datafeedId)}`,
        endpoint: "/agent/v5/datafeeds/{datafeedId}",
      });
      await response.body?.cancel();
    },
  };
}

const STREAM_KINDS: readonly StreamType[] = ["IM", "MIM", "ROOM", "POST"];

/** The kinds asked for; none means every kind. */
function streamKinds(streamTypes: readonly StreamType[] | undefined): Set<StreamType> {
  return new Set(streamTypes?.length ? streamTypes : STREAM_KINDS);
}

/**
 * What to ask the admin list for: it takes IM, MIM and ROOM only (V2AdminStreamFilter), and since
 * SBE 20.16 a group chat is a ROOM marked `groupChat`, so group chats need the ROOMs too.
 */
function adminStreamTypes(kinds: Set<StreamType>): StreamType[] {
  return (["IM", "MIM", "ROOM"] as const).filter((type) => kinds.has(type) || (type === "ROOM" && kinds.has("MIM")));
}

/** The kind of conversation an admin-listed stream is: a ROOM marked groupChat is a group chat. */
function kindOf(stream: AdminStream): StreamType | undefined {
  if (stream.type === "ROOM" && stream.attributes.groupChat) return "MIM";
  return STREAM_KINDS.find((kind) => kind === stream.type);
}

/** A wall as the admin list would show it: its owner is the user whose streams listed it. */
function wallStream(stream: z.output<typeof memberStreamListSchema>[number], ownerId: number): AdminStream {
  return {
    id: stream.id,
    type: "POST",
    isActive: stream.active ?? undefined,
    attributes: { members: stream.streamAttributes?.members ?? [ownerId], createdByUserId: ownerId },
  };
}

function toStreamFilterBody({ streamTypes, ...rest }: StreamFilter) {
  return { ...rest, ...(streamTypes ? { streamTypes: streamTypes.map((type) => ({ type })) } : {}) };
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const result: T[][] = [];
  for (let i = 0; i < items.length; i += size) result.push(items.slice(i, i + size));
  return result;
}

/**
 * The pages of a skip/limit list, each asked for after the last: until a page shorter than `limit`, or
 * (for lists that say how many they hold) until `count` items have been read.
 */
async function* pagesBySkip<Page>(
  limit: number,
  read: (skip: number) => Promise<Page>,
  sizeOf: (page: Page) => { read: number; count?: number },
): AsyncGenerator<Page> {
  for (let skip = 0; ;) {
    const page = await read(skip);
    yield page;
    const { read: got, count } = sizeOf(page);
    skip += got;
    if (got < limit || (count !== undefined && skip >= count)) return;
  }
}
