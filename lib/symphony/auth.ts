import { SignJWT } from "jose";
import { SymphonyError } from "./errors";
import { readJson, send, statusError, type HttpOptions } from "./http";
import { tokenSchema } from "./schemas";
import { parseRsaPrivateKey, type SymphonySettings } from "./settings";

/** Symphony accepts a login JWT that expires at most 5 minutes ahead; stay under it. */
const JWT_LIFETIME_SECONDS = 240;

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
  const keyManager = cachedToken(() =>
    authenticate(settings, http, settings.keyManagerUrl, "/relay/pubkey/authenticate"),
  );
  return {
    async podHeaders() {
      return { sessionToken: await session.get() };
    },
    async agentHeaders() {
      const [sessionToken, keyManagerToken] = await Promise.all([session.get(), keyManager.get()]);
      return { sessionToken, keyManagerToken };
    },
    invalidate(sent) {
      session.drop(sent.sessionToken);
      if (sent.keyManagerToken) keyManager.drop(sent.keyManagerToken);
    },
  };
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
