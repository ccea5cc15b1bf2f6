// What every endpoint of the sandbox works with, and the plumbing shared by its three servers.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { CryptoKey } from "jose";
import { z } from "zod";
import { BodyTooLargeError, readJson, sendJson, type Handler } from "../http";
import type { Org, OrgStream } from "../org";
import type { Tokens } from "./auth";
import type { Datafeeds } from "./datafeed";
import type { Datahose } from "./datahose";
import { countRequest, type FaultGate, type Stats } from "./faults";
import type { AddedMessages } from "./messages";

export type Context = {
  org: Org;
  streamsById: Map<string, OrgStream>;
  added: AddedMessages;
  tokens: Tokens;
  botKey: CryptoKey;
  feeds: Datafeeds;
  /** The pod-wide real-time feed (POST /agent/v5/events/read) and its settings. */
  datahose: Datahose;
  faults: FaultGate;
  stats: Stats;
  /** Whether the bot has the admin role (admin endpoints answer 403 otherwise). */
  botIsAdmin: boolean;
  /** Whether the bot is the pod's Content Export service user (it downloads any conversation's attachments). */
  botIsContentExportUser: boolean;
  /** Whether the pod offers simplified key delivery, and the agent's version (GET /agent/v1/info). */
  keyDelivery: { simplified: boolean; agentVersion: string };
  /** Streams whose message history answers this status instead (setStreamFault). */
  streamFaults: Map<string, 400 | 403 | 404>;
  /** The servers' clock (epoch ms): the machine's, shifted by the clockSkewMs option. */
  now: () => number;
};

export type Auth = "none" | "session" | "session+km";

type Handle<Params> = (
  ctx: Context,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  params: Params,
) => Promise<void> | void;

export type Route = {
  method: "GET" | "POST" | "PUT" | "DELETE";
  /** Path with {name} placeholders, e.g. /agent/v4/stream/{sid}/message. */
  path: string;
  auth: Auth;
  admin?: boolean;
  handle: Handle<Record<string, string>>;
};

/** The names of a path's {placeholders}: "/a/{sid}/b/{id}" gives "sid" | "id". */
type PlaceholderNames<Path extends string> = Path extends `${string}{${infer Name}}${infer Rest}`
  ? Name | PlaceholderNames<Rest>
  : never;

/** A route whose handler receives exactly its path's placeholders, e.g. `params.sid` for {sid}. */
export function route<Path extends string>(
  spec: Omit<Route, "path" | "handle"> & { path: Path; handle: Handle<Record<PlaceholderNames<Path>, string>> },
): Route {
  // Sound because server() fills params from this same path's placeholders (see compile).
  return spec;
}

export function fail(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  sendJson(res, status, { code: status, message }, headers);
}

/** Parses query parameters with a zod schema; answers 400 and returns null when they are invalid. */
export function query<T extends z.ZodType>(res: ServerResponse, url: URL, schema: T): z.infer<T> | null {
  const result = schema.safeParse(Object.fromEntries(url.searchParams));
  if (result.success) return result.data;
  fail(
    res,
    400,
    `Invalid parameters: ${result.error.issues.map((i) => `${i.path.join(".") || "query"} ${i.message}`).join("; ")}`,
  );
  return null;
}

/** Parses a JSON body with a zod schema; answers 400 and returns null when it is invalid. */
export async function body<T extends z.ZodType>(
  req: IncomingMessage,
  res: ServerResponse,
  schema: T,
): Promise<z.infer<T> | null> {
  let json: unknown;
  try {
    json = await readJson(req);
  } catch (error) {
    fail(res, 400, error instanceof BodyTooLargeError ? error.message : "Request body is not valid JSON");
    return null;
  }
  const result = schema.safeParse(json);
  if (result.success) return result.data;
  fail(
    res,
    400,
    `Invalid request body: ${result.error.issues.map((i) => `${i.path.join(".") || "body"} ${i.message}`).join("; ")}`,
  );
  return null;
}

/** skip/limit as Symphony's lists take them: limit from 1 to `max`, `fallback` when absent. */
export function paging(max: number, fallback: number) {
  return {
    skip: z.coerce.number().int().min(0).default(0),
    limit: z.coerce.number().int().min(1).max(max).default(fallback),
  };
}

function compile(route: Route) {
  const names: string[] = [];
  const source = route.path.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{(\w+)\}/g, (_, name: string) => {
    names.push(name);
    return "([^/]+)";
  });
  return { route, names, regex: new RegExp(`^${source}$`) };
}

/**
 * One server's request pipeline: faults (latency, 429, 503) on public endpoints, routing, token
 * checks, and request counting. Paths under /sandbox/ are the sandbox's own admin API.
 */
export function server(ctx: Context, routes: Route[]): Handler {
  const compiled = routes.map(compile);
  return async (req, res, url) => {
    const method = req.method ?? "GET";
    const isAdminApi = url.pathname.startsWith("/sandbox/");
    const found = compiled.flatMap((c) => {
      const m = c.regex.exec(url.pathname);
      return m ? [{ c, m }] : [];
    });
    const match = found.find((x) => x.c.route.method === method);
    if (!isAdminApi)
      res.on("finish", () =>
        countRequest(ctx.stats, `${method} ${match?.c.route.path ?? url.pathname}`, res.statusCode),
      );

    if (!isAdminApi) {
      const faults = ctx.faults.current();
      if (faults.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, faults.latencyMs));
      const decision = ctx.faults.decide();
      if (decision === "throttle")
        return fail(res, 429, "Too many requests", { "retry-after": String(faults.retryAfterSeconds) });
      if (decision === "error") return fail(res, 503, "Service temporarily unavailable");
    }
    if (!match)
      return found.length > 0
        ? fail(res, 405, `Method ${method} not allowed`)
        : fail(res, 404, `No such endpoint: ${url.pathname}`);

    const { route } = match.c;
    if (route.auth !== "none" && !ctx.tokens.valid("sessionToken", header(req, "sessiontoken")))
      return fail(res, 401, "Invalid or missing session token");
    if (route.auth === "session+km" && !keyManagerTokenOk(ctx, header(req, "keymanagertoken")))
      return fail(res, 401, "Invalid or missing key manager token");
    if (route.admin && !ctx.botIsAdmin) return fail(res, 403, "The caller lacks the necessary entitlement");

    // compile() gives every name exactly one (non-optional) capture group, in order.
    const params = Object.fromEntries(match.c.names.map((name, i) => [name, decodeURIComponent(match.m[i + 1]!)]));
    await route.handle(ctx, req, res, url, params);
  };
}

/**
 * A valid key manager token, or none at all (missing or empty) when the session may use simplified
 * key delivery and the agent is 24.12 or later (symphony-bdk-java AuthSessionImpl, AgentVersion).
 */
function keyManagerTokenOk(ctx: Context, token: string | undefined): boolean {
  if (token) return ctx.tokens.valid("keyManagerToken", token);
  const [major = 0, minor = 0] = ctx.keyDelivery.agentVersion.split(".").map(Number);
  return ctx.keyDelivery.simplified && (major > 24 || (major === 24 && minor >= 12));
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
