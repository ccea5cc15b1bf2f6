import { decodeJwt, SignJWT } from "jose";
import { z } from "zod";
import { SymphonyError } from "./errors";
import { readJson, send, statusError, type HttpOptions } from "./http";
import { tokenSchema } from "./schemas";
import { parseRsaPrivateKey, type SymphonySettings } from "./settings";

/** Symphony accepts a login JWT that expires at most 5 minutes ahead; stay under it. */
export const JWT_LIFETIME_SECONDS = 240;

export type Session = {
  /** Header for pod calls, cached until invalidated. */
  podHeaders(): Promise<Record<string, string>>;
  /** Headers for agent calls (session and key manager tokens), cached until invalidated. */
  agentHeaders(): Promise<Record<string, string>>;
  /** Drops the tokens that were sent with a call answered 401, unless they were already replaced. */
  invalidate(sentHeaders: Record<string, string>): void;
};

/** What signing in needs: the bot's user name and private key. */
type BotCredentials = Pick<SymphonySettings, "botUsername" | "privateKeyPem">;

/** A session on the pod alone (the Files API needs no agent or key manager). */
export type PodSession = Pick<Session, "podHeaders" | "invalidate">;

/** The bot's login JWT: RS512, sub = bot username, short expiry. */
export async function signLoginJwt(settings: BotCredentials): Promise<string> {
  const key = parseRsaPrivateKey(settings.privateKeyPem);
  if (!key) throw new Error("Private key is not a PEM-encoded RSA private key");
  return new SignJWT({})
    .setProtectedHeader({ alg: "RS512", typ: "JWT" })
    .setSubject(settings.botUsername)
    .setExpirationTime(Math.floor(Date.now() / 1000) + JWT_LIFETIME_SECONDS)
    .sign(key);
}

export function createSession(settings: SymphonySettings, http: HttpOptions): Session {
  const session = cachedToken(() => authenticate(settings, http, settings.podUrl, "/login/pubkey/authenticate"));
  const { keyManagerUrl } = settings;
  const keyManager = keyManagerUrl
    ? cachedToken(() => authenticate(settings, http, keyManagerUrl, "/relay/pubkey/authenticate"))
    : undefined;
  let agentVersion: Promise<AgentVersion> | undefined;

  /**
   * Empty when the session may use simplified key delivery and the agent takes it (24.12 or later),
   * else the key manager's token: the BDKs decide so (symphony-bdk-java AuthSessionImpl,
   * symphony-bdk-python AuthSession.skd_enabled) and send an empty one.
   */
  async function keyManagerToken(sessionToken: string): Promise<string> {
    if (allowsSimplifiedKeyDelivery(sessionToken)) {
      agentVersion ??= readAgentVersion(settings.agentUrl, http).catch((error: unknown) => {
        agentVersion = undefined;
        throw error;
      });
      const version = await agentVersion;
      if (version.simplifiedKeyDelivery) return "";
      if (!keyManager) throw keyManagerRequired("GET /agent/v1/info", agentTooOld(version.text));
    }
    if (!keyManager) {
      throw keyManagerRequired(
        "POST /login/pubkey/authenticate",
        "the pod does not offer simplified key delivery to this service account: enter the key manager URL, or ask Symphony to enable simplified key delivery for the pod",
      );
    }
    return keyManager.get();
  }

  return {
    async podHeaders() {
      return { sessionToken: await session.get() };
    },
    async agentHeaders() {
      const sessionToken = await session.get();
      return { sessionToken, keyManagerToken: await keyManagerToken(sessionToken) };
    },
    invalidate(sent) {
      session.drop(sent.sessionToken);
      if (sent.keyManagerToken) keyManager?.drop(sent.keyManagerToken);
    },
  };
}

/**
 * Whether the session token says its holder may use simplified key delivery: a JWT claim read
 * without checking the signature, as the BDKs do (symphony-bdk-java JwtHelper.isSkdEnabled). A token
 * that is not a JWT (older pods) does not allow it.
 */
export function allowsSimplifiedKeyDelivery(sessionToken: string): boolean {
  try {
    return decodeJwt(sessionToken).canUseSimplifiedKeyDelivery === true;
  } catch {
    return false;
  }
}

type AgentVersion = { text?: string; simplifiedKeyDelivery: boolean };

const agentInfoSchema = z.object({ version: z.string().nullish() });
const AGENT_INFO = "GET /agent/v1/info";

/**
 * The agent's version from GET /agent/v1/info ("Agent-24.12.1-..."), which needs no token. An agent
 * that does not say takes no simplified key delivery, as in the BDKs (AgentVersionService).
 */
async function readAgentVersion(agentUrl: string, http: HttpOptions): Promise<AgentVersion> {
  try {
    const response = await send(
      { method: "GET", url: new URL(`${agentUrl}/agent/v1/info`), endpoint: AGENT_INFO },
      http,
    );
    if (!response.ok) {
      await response.body?.cancel();
      return { simplifiedKeyDelivery: false };
    }
    const { version } = await readJson(response, agentInfoSchema, AGENT_INFO);
    const match = /^Agent-(\d+)\.(\d+)\./.exec(version ?? "");
    if (!match) return { simplifiedKeyDelivery: false };
    const [major, minor] = [Number(match[1]), Number(match[2])];
    return { text: `${major}.${minor}`, simplifiedKeyDelivery: major > 24 || (major === 24 && minor >= 12) };
  } catch (error) {
    // Unreachable is not "old": that failure is the agent call's to report.
    if (
      error instanceof SymphonyError &&
      !["network", "timeout", "blocked_host", "insecure_url"].includes(error.code)
    ) {
      return { simplifiedKeyDelivery: false };
    }
    throw error;
  }
}

function agentTooOld(version: string | undefined): string {
  return version
    ? `the agent is version ${version}, and only agents from 24.12 take simplified key delivery: enter the key manager URL, or upgrade the agent`
    : "the agent does not tell its version, so it cannot be known to take simplified key delivery (agent 24.12 or later): enter the key manager URL";
}

function keyManagerRequired(endpoint: string, why: string): SymphonyError {
  return new SymphonyError({
    code: "key_manager_required",
    endpoint,
    message: `No key manager URL is set, and ${why}.`,
  });
}

export function createPodSession(
  settings: BotCredentials & Pick<SymphonySettings, "podUrl">,
  http: HttpOptions,
): PodSession {
  const session = cachedToken(() => authenticate(settings, http, settings.podUrl, "/login/pubkey/authenticate"));
  return {
    async podHeaders() {
      return { sessionToken: await session.get() };
    },
    invalidate(sent) {
      session.drop(sent.sessionToken);
    },
  };
}

/**
 * One token shared by all concurrent calls. A failed login is not cached. drop() forgets the token
 * only if it is still the current one, so several calls answered 401 together log in once.
 */
function cachedToken(login: () => Promise<string>) {
  let current: { promise: Promise<string>; value?: string } | undefined;
  return {
    get(): Promise<string> {
      if (current) return current.promise;
      const entry: { promise: Promise<string>; value?: string } = { promise: login() };
      entry.promise.then(
        (value) => (entry.value = value),
        () => current === entry && (current = undefined),
      );
      current = entry;
      return entry.promise;
    },
    drop(token: string | undefined) {
      if (current?.value !== undefined && current.value === token) current = undefined;
    },
  };
}

async function authenticate(settings: BotCredentials, http: HttpOptions, base: string, path: string): Promise<string> {
  const endpoint = `POST ${path}`;
  const jwt = await signLoginJwt(settings);
  const request = {
    method: "POST" as const,
    url: new URL(base + path),
    endpoint,
    body: { token: jwt },
    secrets: [jwt],
  };
  const response = await send(request, http);
  if (response.status === 401) {
    const rejected = await statusError(request, response);
    throw new SymphonyError({
      code: "auth_rejected",
      endpoint,
      status: 401,
      message: `the bot's key was rejected for user "${settings.botUsername}" (HTTP 401)`,
      serverMessage: rejected.serverMessage,
    });
  }
  const { token } = await readJson(response, tokenSchema, endpoint);
  return token;
}
