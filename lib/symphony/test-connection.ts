import { z, ZodError } from "zod";
import { logger } from "@/lib/logger";
import { streamTypeSchema, type StreamType } from "@/lib/stream-types";
import { createSymphonyClient, type SymphonyClient, type SymphonyClientOptions } from "./client";
import { SymphonyError } from "./errors";
import { HTTPS_REQUIRED } from "./network";
import { parseSymphonySettings, type SymphonySettings } from "./settings";

export type ConnectionReport =
  | {
      ok: true;
      bot: { username: string; id?: number; displayName?: string };
      /** Conversations of the chosen types in the pod (the admin stream list). */
      streams: number;
      /** Those the service account is a member of: the only ones it can read. */
      readable: number;
    }
  | { ok: false; reason: string };

const scopeSchema = z.object({ streamTypes: z.array(streamTypeSchema).min(1).optional() });

/**
 * What the setup wizard's "Test connection" shows: signs in to the pod and the key manager, asks who
 * the bot is (/pod/v2/sessioninfo), counts the pod's conversations of the chosen types (admin stream
 * list) and those the bot is a member of (its own stream list), and touches the agent. Never throws; a
 * failure comes back as a reason an admin can act on, without any secret in it. `input` may carry
 * `streamTypes` (default: every type).
 */
export async function testConnection(
  input: unknown,
  options: SymphonyClientOptions = { retry: { maxAttempts: 2 }, requestTimeoutMs: 15_000 },
): Promise<ConnectionReport> {
  let settings: SymphonySettings;
  let streamTypes: StreamType[] | undefined;
  try {
    settings = parseSymphonySettings(input);
    streamTypes = scopeSchema.parse(input).streamTypes;
  } catch (error) {
    if (error instanceof ZodError) return { ok: false, reason: error.issues.map((issue) => issue.message).join("; ") };
    throw error;
  }
  const client = createSymphonyClient(settings, options);
  try {
    await client.authenticate();
    const bot = await client.sessionInfo();
    const mine = await client.memberStreams({ streamTypes });
    const { streams, readable } = await countConversations(client, streamTypes, new Set(mine.map((s) => s.id)));
    await client.listDatafeeds();
    return {
      ok: true,
      bot: { username: settings.botUsername, id: bot.id, displayName: bot.displayName ?? undefined },
      streams,
      // Its own list may also hold what the admin list leaves out (its own wall): never more than all.
      readable: Math.min(readable, streams),
    };
  } catch (error) {
    if (error instanceof SymphonyError) {
      // The server's own words stay in the server's log: a foreign server's text is never shown on a page.
      logger.warn(
        { endpoint: error.endpoint, code: error.code, serverMessage: error.serverMessage },
        "Symphony test connection failed",
      );
      return { ok: false, reason: explainFailure(error, settings) };
    }
    return { ok: false, reason: "Unexpected error while testing the connection." };
  }
}

/**
 * The pod's conversations of the chosen kinds and how many of them the bot is in. Its own list gives
 * API types only, so when group chats and rooms must be told apart the admin list is read and matched.
 */
async function countConversations(
  client: SymphonyClient,
  streamTypes: StreamType[] | undefined,
  mine: Set<string>,
): Promise<{ streams: number; readable: number }> {
  const kinds = new Set(streamTypes ?? streamTypeSchema.options);
  if (kinds.has("MIM") === kinds.has("ROOM")) {
    return { streams: await client.countStreams({ streamTypes }), readable: mine.size };
  }
  let streams = 0;
  let readable = 0;
  for await (const page of client.listStreams({ streamTypes })) {
    streams += page.length;
    readable += page.filter((stream) => mine.has(stream.id)).length;
  }
  return { streams, readable };
}

function explainFailure(error: SymphonyError, settings: SymphonySettings): string {
  const service = error.endpoint.includes("/relay/")
    ? { name: "key manager", url: settings.keyManagerUrl }
    : error.endpoint.includes(" /agent/")
      ? { name: "agent", url: settings.agentUrl }
      : { name: "pod", url: settings.podUrl };
  const detail = error.message.replace(`${error.endpoint}: `, "");
  switch (error.code) {
    case "network":
      return `Cannot reach the ${service.name} at ${service.url} (${networkCause(detail)}). Check the ${service.name} URL and that this server can reach it.`;
    case "blocked_host":
      return `The ${service.name} URL ${service.url} points at a loopback, link-local or private address, which this server does not call. When the agent or key manager runs on your own network, the operator sets SYMPHONY_ALLOW_PRIVATE_HOSTS=true (link-local and cloud metadata addresses stay refused even then).`;
    case "insecure_url":
      return `The ${service.name} URL ${service.url} ${HTTPS_REQUIRED}: over http:// the bot's sign-in and session tokens would cross the internet unencrypted.`;
    case "redirect":
      return `The ${service.name} at ${service.url} answered with a redirect (${detail}); redirects are not followed. Enter the URL it redirects to, if you trust it.`;
    case "timeout":
      return `The ${service.name} at ${service.url} did not answer in time. Check the ${service.name} URL and the network.`;
    case "auth_rejected":
      return (
        `The ${service.name} rejected the bot's key for user "${settings.botUsername}". Check the bot username, ` +
        `and that the public key of this private key is registered on that service account.`
      );
    case "unauthorized":
      return `The ${service.name} refused the bot's session even after signing in again (${detail}).`;
    case "forbidden":
      // login-api-public.yaml lists 403 "Forbidden to access this endpoint" for the sign-in itself.
      if (error.endpoint.endsWith("/pubkey/authenticate"))
        return (
          `The ${service.name} refused the sign-in of "${settings.botUsername}" (HTTP 403): the account may not sign ` +
          `in with a key here. Check in the Admin Portal that it is an active service account.`
        );
      return (
        `The bot signed in but may not call ${error.endpoint}: it needs the User Provisioning (admin) ` +
        `role to list users and streams, and the agent must allow it to read messages.`
      );
    case "not_found":
      return `The ${service.name} at ${service.url} has no ${error.endpoint}. Check the ${service.name} URL (base URL, without /pod, /agent or /relay).`;
    case "invalid_response":
      return `The ${service.name} at ${service.url} did not answer like Symphony (${detail}). Check the ${service.name} URL.`;
    case "rate_limited":
      return `The ${service.name} is rate-limiting the bot; try again in a minute.`;
    default:
      return `The ${service.name} answered ${detail}.`;
  }
}

const NETWORK_CAUSES: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ENOTFOUND: "host name not found",
  EAI_AGAIN: "host name lookup failed",
  ECONNRESET: "connection reset",
  ETIMEDOUT: "connection timed out",
  EHOSTUNREACH: "host unreachable",
  DEPTH_ZERO_SELF_SIGNED_CERT: "its TLS certificate is self-signed and not trusted",
  SELF_SIGNED_CERT_IN_CHAIN: "its TLS certificate chain is not trusted",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "its TLS certificate is not trusted",
  CERT_HAS_EXPIRED: "its TLS certificate has expired",
  ERR_TLS_CERT_ALTNAME_INVALID: "its TLS certificate does not match the host name",
};

function networkCause(detail: string): string {
  const code = /\(([^()]*)\)$/.exec(detail)?.[1] ?? "";
  return NETWORK_CAUSES[code] ?? (code || "network error");
}
