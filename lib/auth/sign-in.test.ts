import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import NextAuth, { type NextAuthOptions, type Session } from "next-auth";
import { decode, encode } from "next-auth/jwt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "@/lib/config";
import type { M365Sandbox } from "@/sandbox/m365";
import { TEST_APP_URL, TEST_REDIRECT_URIS, skipWithoutCa, startTestSandbox } from "@/sandbox/m365/test-support";
import { authOptionsFor, SIGN_IN_LIFETIME_SECONDS } from "./options";

// Admin sign-in end to end: next-auth's own handler (as app/api/auth/[...nextauth] runs it) against the
// Microsoft 365 sandbox's Entra ID, a person picked on its sign-in page, and the session that results.

type Reply = { status: number; location?: string; body?: unknown; cookies: Map<string, string> };

/** One request to next-auth's handler, the way Next.js hands it an API request; cookies kept in `jar`. */
async function nextAuth(
  options: NextAuthOptions,
  jar: Map<string, string>,
  url: string,
  body?: Record<string, string>,
): Promise<Reply> {
  const { pathname, searchParams } = new URL(url, TEST_APP_URL);
  const reply: Reply = { status: 200, cookies: new Map() };
  const headers = new Map<string, string | string[]>();
  const res = {
    status: (code: number) => ((reply.status = code), res),
    setHeader: (name: string, value: string | string[]) => (headers.set(name.toLowerCase(), value), res),
    getHeader: (name: string) => headers.get(name.toLowerCase()),
    end: () => undefined,
    send: (value: unknown) => void (reply.body = value),
    json: (value: unknown) => void (reply.body = value),
  };
  const req = {
    method: body ? "POST" : "GET",
    query: { ...Object.fromEntries(searchParams), nextauth: pathname.replace("/api/auth/", "").split("/") },
    headers: { host: new URL(TEST_APP_URL).host },
    cookies: Object.fromEntries(jar),
    body,
  };
  await NextAuth(req as never, res as never, options);
  for (const line of [headers.get("set-cookie") ?? []].flat()) {
    const [pair = ""] = line.split(";");
    const at = pair.indexOf("=");
    jar.set(pair.slice(0, at), decodeURIComponent(pair.slice(at + 1)));
  }
  reply.location = headers.get("location") as string | undefined;
  return reply;
}

/** Signs in through the sandbox's sign-in page as `email`; the session, or where next-auth sent the browser instead. */
async function signIn(
  options: NextAuthOptions,
  email: string,
  jar = new Map<string, string>(),
): Promise<{ session?: Session; landedOn?: string }> {
  const { csrfToken } = (await nextAuth(options, jar, "/api/auth/csrf")).body as { csrfToken: string };
  const start = await nextAuth(options, jar, "/api/auth/signin/entra", {
    csrfToken,
    callbackUrl: `${TEST_APP_URL}/connectors`,
  });
  const authorize = new URL(start.location!);
  const form = new URLSearchParams(authorize.searchParams);
  form.set("login_hint", email);
  const picked = await fetch(`${authorize.origin}${authorize.pathname}`, {
    method: "POST",
    body: form,
    redirect: "manual",
  });
  const callback = picked.headers.get("location");
  if (picked.status !== 302 || !callback) return { landedOn: `Entra ${picked.status}: ${await picked.text()}` };
  expect(callback.startsWith(`${TEST_REDIRECT_URIS.signIn}?`)).toBe(true);
  const done = await nextAuth(options, jar, callback);
  if (done.location !== `${TEST_APP_URL}/connectors`) return { landedOn: done.location };
  return { session: (await nextAuth(options, jar, "/api/auth/session")).body as Session };
}

describe.skipIf(skipWithoutCa)("admin sign-in against Entra ID (the M365 sandbox)", () => {
  let sandbox: M365Sandbox;
  let dir: string;
  const settings = (extra: Record<string, string>) =>
    parseConfig({
      APP_URL: TEST_APP_URL,
      NEXTAUTH_SECRET: "a-test-secret-of-at-least-32-characters",
      ENTRA_AUTHORITY_HOST: sandbox.url,
      ENTRA_TENANT_ID: sandbox.tenantId,
      ...extra,
    });

  beforeAll(async () => {
    // The sign-in app signs ID tokens with a key of its own (claims mapping): only `?appid=` discovery finds it.
    sandbox = await startTestSandbox({ webApp: { redirectUris: [TEST_REDIRECT_URIS.signIn], customSigningKey: true } });
    dir = mkdtempSync(path.join(os.tmpdir(), "sign-in-test-"));
    writeFileSync(path.join(dir, "app.crt"), sandbox.app.certificatePem);
    writeFileSync(path.join(dir, "app.key"), sandbox.app.privateKeyPem, { mode: 0o600 });
  });
  afterAll(async () => {
    await sandbox?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("signs in with the app's certificate when no secret is set, and the session carries the ID token's roles", async () => {
    const options = authOptionsFor(
      settings({
        ENTRA_CLIENT_ID: sandbox.app.clientId,
        ENTRA_CLIENT_CERTIFICATE_PATH: path.join(dir, "app.crt"),
        ENTRA_CLIENT_KEY_PATH: path.join(dir, "app.key"),
      }),
    );
    const [admin, reader, noRole] = sandbox.signInUsers;
    for (const [user, roles] of [
      [admin!, ["Connector.Admin"]],
      [reader!, ["Connector.Reader"]],
      [noRole!, []],
    ] as const) {
      const { session, landedOn } = await signIn(options, user.email);
      expect(landedOn, user.email).toBeUndefined();
      expect(session?.user).toMatchObject({ email: user.email, name: user.name, roles });
    }
  });

  it("lets in only sign-ins from the configured tenant, whatever the ID token's issuer allowed", async () => {
    const options = authOptionsFor(settings({ ENTRA_CLIENT_ID: sandbox.app.clientId, ENTRA_CLIENT_SECRET: "s" }));
    const signInFrom = (tid: string | undefined) =>
      options.callbacks!.signIn!({
        user: { id: "someone" },
        account: null,
        profile: { sub: "someone", ...(tid !== undefined && { tid }) },
      });
    expect(await signInFrom(sandbox.tenantId)).toBe(true);
    expect(await signInFrom(sandbox.tenantId.toUpperCase())).toBe(true);
    expect(await signInFrom("0b6e8a3c-1f2d-4e5a-9b7c-8d6e5f4a3b2c")).toBe(false);
    expect(await signInFrom(undefined)).toBe(false);
  });

  it("finds the keys of a sign-in app that signs with its own key (discovery with ?appid=)", async () => {
    const options = authOptionsFor(
      settings({
        ENTRA_CLIENT_ID: sandbox.app.clientId,
        ENTRA_CLIENT_SECRET: sandbox.app.clientSecret,
        AUTH_CLIENT_ID: sandbox.webApp.clientId,
        AUTH_CLIENT_SECRET: sandbox.webApp.clientSecret,
      }),
    );
    const reader = sandbox.signInUsers[1]!;
    const { session, landedOn } = await signIn(options, reader.email);
    expect(landedOn).toBeUndefined();
    expect(session?.user?.roles).toEqual(["Connector.Reader"]);
  });

  it("ends a sign-in after its lifetime however often the session was renewed, so a role taken away applies", async () => {
    const options = authOptionsFor(
      settings({ ENTRA_CLIENT_ID: sandbox.app.clientId, ENTRA_CLIENT_SECRET: sandbox.app.clientSecret }),
    );
    const jar = new Map<string, string>();
    const { session } = await signIn(options, sandbox.signInUsers[0]!.email, jar);
    expect(session?.user?.roles).toEqual(["Connector.Admin"]);
    const cookie = "next-auth.session-token";
    const secret = options.secret!;
    const signedIn = await decode({ token: jar.get(cookie), secret });
    expect(signedIn?.signedInAt).toBeGreaterThan(Date.now() / 1000 - 60);

    // The same token, renewed all along (next-auth renews it on every request), from a sign-in one lifetime ago.
    const backdate = async (seconds: number) =>
      jar.set(cookie, await encode({ token: { ...signedIn, signedInAt: signedIn!.signedInAt! - seconds }, secret }));
    await backdate(SIGN_IN_LIFETIME_SECONDS - 60);
    expect(((await nextAuth(options, jar, "/api/auth/session")).body as Session).user?.email).toBe(
      sandbox.signInUsers[0]!.email,
    );
    await backdate(SIGN_IN_LIFETIME_SECONDS);
    expect(((await nextAuth(options, jar, "/api/auth/session")).body as Session).user).toBeUndefined();
  });
});
