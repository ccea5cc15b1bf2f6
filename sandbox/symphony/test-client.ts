// For the contract tests: a minimal client made of jose and fetch only (never our lib/ code).
import { importPKCS8, SignJWT } from "jose";
import type { SymphonySandbox } from "./index";

export async function signLoginJwt(
  privateKeyPem: string,
  claims: { sub: string; expSeconds?: number; alg?: string },
): Promise<string> {
  const alg = claims.alg ?? "RS512";
  const key = await importPKCS8(privateKeyPem, alg);
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg })
    .setSubject(claims.sub)
    .setExpirationTime(now + (claims.expSeconds ?? 240))
    .sign(key);
}

export async function postJson(url: string, json: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(json),
  });
}

/** Logs in to the pod and key manager and returns the two headers every agent call needs. */
export async function loginHeaders(
  sandbox: SymphonySandbox,
): Promise<{ sessionToken: string; keyManagerToken: string }> {
  const jwt = await signLoginJwt(sandbox.bot.privateKeyPem, { sub: sandbox.bot.username });
  const session = (await (await postJson(`${sandbox.podUrl}/login/pubkey/authenticate`, { token: jwt })).json()) as {
    token: string;
  };
  const km = (await (await postJson(`${sandbox.keyManagerUrl}/relay/pubkey/authenticate`, { token: jwt })).json()) as {
    token: string;
  };
  return { sessionToken: session.token, keyManagerToken: km.token };
}
