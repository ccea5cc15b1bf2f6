import { ZodError } from "zod";
import { logger } from "@/lib/logger";
import { createSymphonyClient, type SymphonyClientOptions } from "./client";
import { SymphonyError } from "./errors";
import { parseSymphonySettings, type SymphonySettings } from "./settings";

export type ConnectionReport =
  | {
      ok: true;
      bot: { username: string; id?: number; displayName?: string };
      /** Users of the pod the bot can list. */
      users: number;
      /** Streams (IM, MIM, ROOM, POST) of the company the bot can list. */
      streams: number;
    }
  | { ok: false; reason: string };

/**
 * What the setup wizard's "Test connection" shows: signs in to the pod and the key manager, lists
 * users and streams with the admin endpoints, and touches the agent. Never throws; a failure comes
 * back as a reason an admin can act on, without any secret in it.
 */
export async function testConnection(
  input: unknown,
  options: SymphonyClientOptions = { retry: { maxAttempts: 2 }, requestTimeoutMs: 15_000 },
): Promise<ConnectionReport> {
  let settings: SymphonySettings;
  try {
    settings = parseSymphonySettings(input);
  } catch (error) {
    if (error instanceof ZodError) return { ok: false, reason: error.issues.map((issue) => issue.message).join("; ") };
    throw error;
  }
  const client = createSymphonyClient(settings, options);
  try {
    await client.authenticate();
    const users = await client.listUsers();
    const streams = await client.countStreams();
    await client.listDatafeeds();
    const bot = users.find((user) => user.userAttributes.userName === settings.botUsername);
    return {
      ok: true,
      bot: {
        username: settings.botUsername,
        id: bot?.userSystemInfo.id,
        displayName: bot?.userAttributes.displayName ?? undefined,
      },
      users: users.length,
      streams,
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
      return `The ${service.name} URL ${service.url} points at a loopback, link-local or private address, which this server does not call. When the agent or key manager runs on your own network, the operator sets SYMPHONY_ALLOW_PRIVATE_HOSTS=true.`;
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
