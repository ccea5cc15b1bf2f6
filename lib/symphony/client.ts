import { Readable } from "node:stream";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import type { z } from "zod";
import { createSession } from "./auth";
import { createBase64Decoder } from "./base64-decode";
import { SymphonyError } from "./errors";
import { readJson, send, statusError, type HttpOptions, type HttpRequest, type RetryEvent } from "./http";
import { nextMessageCursor, toUrlSafeId, type MessageCursor } from "./messages";
import { defaultRetryPolicy, type RetryPolicy } from "./retry";
import {
  adminStreamListSchema,
  adminUserListSchema,
  datafeedListSchema,
  datafeedReadSchema,
  datafeedSchema,
  messageListSchema,
  streamMemberListSchema,
  userListSchema,
  type AdminStream,
  type AdminUser,
  type Datafeed,
  type DatafeedRead,
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
  /**
   * Whether the pod, agent and key manager may be on loopback, link-local or private addresses (an
   * agent or key manager on premises); default SYMPHONY_ALLOW_PRIVATE_HOSTS.
   */
  allowPrivateHosts?: boolean;
  /** Page sizes; the defaults are Symphony's maxima. */
  pageSize?: Partial<Record<"users" | "streams" | "members" | "messages", number>>;
};

/** Body of the admin stream list; every field optional (pod-api-public.yaml V2AdminStreamFilter). */
export type StreamFilter = {
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
  /** Pages of the company's streams (admin), oldest first. */
  listStreams(filter?: StreamFilter): AsyncGenerator<AdminStream[]>;
  /** Number of streams matching the filter, from the first page's count. */
  countStreams(filter?: StreamFilter): Promise<number>;
  /** Every member (current and past) of a stream (admin). */
  listStreamMembers(streamId: string): Promise<StreamMember[]>;
  /** Pages of a stream's messages stamped at or after sinceMs, oldest first, each exactly once. */
  messages(streamId: string, sinceMs?: number): AsyncGenerator<SymphonyMessage[]>;
  /** The attachment's bytes (decoded from the API's base64), streamed. */
  downloadAttachment(streamId: string, messageId: string, attachmentId: string): Promise<Readable>;
  createDatafeed(tag?: string): Promise<Datafeed>;
  listDatafeeds(tag?: string): Promise<Datafeed[]>;
  /** Long-polls the feed; pass the previous read's ackId to acknowledge its events. */
  readDatafeed(datafeedId: string, ackId?: string): Promise<DatafeedRead>;
  deleteDatafeed(datafeedId: string): Promise<void>;
};

const MAX_PAGE = { users: 100, streams: 100, members: 100, messages: 500 };
const LOOKUP_BATCH = 100;

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
  };

  /** One API call with the cached tokens; a 401 re-authenticates once and retries, then fails. */
  async function call({ host, method, path, endpoint, query, body }: Call): Promise<Response> {
    const url = new URL((host === "pod" ? settings.podUrl : settings.agentUrl) + path);
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const request: HttpRequest = { method, url, endpoint: `${method} ${endpoint}`, body };
    for (let attempt = 1; ; attempt++) {
      const headers = host === "pod" ? await session.podHeaders() : await session.agentHeaders();
      const response = await send({ ...request, headers, secrets: Object.values(headers) }, http);
      if (response.status !== 401) return response;
      const error = await statusError({ ...request, secrets: Object.values(headers) }, response);
      if (attempt === 2) throw error;
      session.invalidate(headers);
    }
  }

  async function json<S extends z.ZodType>(request: Call, schema: S, whenEmpty?: z.output<S>) {
    const response = await call(request);
    return readJson(response, schema, `${request.method} ${request.endpoint}`, whenEmpty);
  }

  async function* streamPages(filter: StreamFilter, limit: number) {
    const body = toStreamFilterBody(filter);
    for (let skip = 0; ;) {
      const page = await json(
        {
          host: "pod",
          method: "POST",
          path: "/pod/v2/admin/streams/list",
          endpoint: "/pod/v2/admin/streams/list",
          query: { skip, limit },
          body,
        },
        adminStreamListSchema,
      );
      yield page;
      skip += page.streams.length;
      if (page.streams.length < limit || skip >= page.count) return;
    }
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

    async listUsers() {
      const users: AdminUser[] = [];
      const limit = pageSize.users;
      for (let skip = 0; ; skip += limit) {
        const page = await json(
          {
            host: "pod",
            method: "GET",
            path: "/pod/v2/admin/user/list",
            endpoint: "/pod/v2/admin/user/list",
            query: { skip, limit },
          },
          adminUserListSchema,
          [],
        );
        users.push(...page);
        if (page.length < limit) return users;
      }
    },

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

    async *listStreams(filter = {}) {
      for await (const page of streamPages(filter, pageSize.streams)) {
        if (page.streams.length > 0) yield page.streams;
      }
    },

    async countStreams(filter = {}) {
      for await (const page of streamPages(filter, 1)) return page.count;
      return 0;
    },

    async listStreamMembers(streamId) {
      const members: StreamMember[] = [];
      const limit = pageSize.members;
      const sid = encodeURIComponent(toUrlSafeId(streamId));
      for (let skip = 0; ;) {
        const page = await json(
          {
            host: "pod",
            method: "GET",
            path: `/pod/v1/admin/stream/${sid}/membership/list`,
            endpoint: "/pod/v1/admin/stream/{sid}/membership/list",
            query: { skip, limit },
          },
          streamMemberListSchema,
        );
        members.push(...page.members);
        skip += page.members.length;
        if (page.members.length < limit || skip >= page.count) return members;
      }
    },

    async *messages(streamId, sinceMs = 0) {
      const sid = encodeURIComponent(toUrlSafeId(streamId));
      const limit = pageSize.messages;
      let cursor: MessageCursor = { since: sinceMs, skip: 0 };
      for (;;) {
        const page = await json(
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
        if (page.length > 0) yield page;
        if (page.length < limit) return;
        cursor = nextMessageCursor(cursor, page);
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
      });
      if (!response.body) {
        throw new SymphonyError({
          code: "invalid_response",
          endpoint: `GET ${endpoint}`,
          message: "attachment response has no body",
        });
      }
      const body = Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
      const decoder = createBase64Decoder();
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

function toStreamFilterBody({ streamTypes, ...rest }: StreamFilter) {
  return { ...rest, ...(streamTypes ? { streamTypes: streamTypes.map((type) => ({ type })) } : {}) };
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const result: T[][] = [];
  for (let i = 0; i < items.length; i += size) result.push(items.slice(i, i + size));
  return result;
}
