import { generateKeyPairSync } from "node:crypto";
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSymphonySandbox, type SymphonySandbox } from "./index";
import { loginHeaders, postJson, signLoginJwt } from "./test-client";

let sandbox: SymphonySandbox;
beforeAll(async () => {
  sandbox = await startSymphonySandbox({ seed: "auth", org: { users: 6, messages: 20 } });
});
afterAll(() => sandbox.close());

const login = (base: string, path: string, token: string) => postJson(`${base}${path}`, { token });

describe("RSA JWT login", () => {
  it("returns a session token from the pod and a key manager token from the key manager", async () => {
    const jwt = await signLoginJwt(sandbox.bot.privateKeyPem, { sub: sandbox.bot.username });
    const pod = await login(sandbox.podUrl, "/login/pubkey/authenticate", jwt);
    expect(pod.status).toBe(200);
    // A JWT (the BDKs read its claims); this pod does not offer simplified key delivery.
    const session = (await pod.json()) as { name: string; token: string };
    expect(session).toEqual({
      name: "sessionToken",
      token: expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/) as unknown,
    });
    expect(decodeJwt(session.token)).not.toHaveProperty("canUseSimplifiedKeyDelivery");
    const km = await login(sandbox.keyManagerUrl, "/relay/pubkey/authenticate", jwt);
    expect(await km.json()).toEqual({ name: "keyManagerToken", token: expect.any(String) as unknown });
  });

  it("serves each host only its own paths", async () => {
    const jwt = await signLoginJwt(sandbox.bot.privateKeyPem, { sub: sandbox.bot.username });
    expect((await login(sandbox.agentUrl, "/login/pubkey/authenticate", jwt)).status).toBe(404);
    expect((await login(sandbox.podUrl, "/relay/pubkey/authenticate", jwt)).status).toBe(404);
  });

  const otherKey = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  });
  const refusals: Array<[string, () => Promise<string>, RegExp]> = [
    [
      "a signature by another key",
      () => signLoginJwt(otherKey.privateKey, { sub: sandbox.bot.username }),
      /signature/i,
    ],
    ["an unknown user", () => signLoginJwt(sandbox.bot.privateKeyPem, { sub: "someone-else" }), /unknown user/i],
    [
      "an expired token",
      () => signLoginJwt(sandbox.bot.privateKeyPem, { sub: sandbox.bot.username, expSeconds: -10 }),
      /expired/i,
    ],
    [
      "an expiry more than 5 minutes ahead",
      () => signLoginJwt(sandbox.bot.privateKeyPem, { sub: sandbox.bot.username, expSeconds: 360 }),
      /5 minutes/,
    ],
    [
      "RS256 instead of RS512",
      () => signLoginJwt(sandbox.bot.privateKeyPem, { sub: sandbox.bot.username, alg: "RS256" }),
      /invalid token/i,
    ],
    ["something that is not a JWT", () => Promise.resolve("not-a-jwt"), /invalid token/i],
  ];
  it.each(refusals)("refuses %s with 401 on both hosts", async (_name, makeJwt, message) => {
    const jwt = await makeJwt();
    for (const [base, path] of [
      [sandbox.podUrl, "/login/pubkey/authenticate"],
      [sandbox.keyManagerUrl, "/relay/pubkey/authenticate"],
    ] as const) {
      const res = await login(base, path, jwt);
      expect(res.status).toBe(401);
      const json = (await res.json()) as { code: number; message: string };
      expect(json.code).toBe(401);
      expect(json.message).toMatch(message);
    }
  });

  it("answers 400 to a body without a token", async () => {
    const res = await postJson(`${sandbox.podUrl}/login/pubkey/authenticate`, { jwt: "x" });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: 400 });
  });
});

describe("tokens", () => {
  it("checks the session token on pod calls and both tokens on agent calls", async () => {
    const headers = await loginHeaders(sandbox);
    const stream = sandbox.org.streams.find((s) => s.botIsMember && s.messageCount > 0)!;
    const messagesUrl = `${sandbox.agentUrl}/agent/v4/stream/${stream.id}/message?since=0`;
    expect((await fetch(`${sandbox.podUrl}/pod/v2/admin/user/list`)).status).toBe(401);
    expect(
      (await fetch(`${sandbox.podUrl}/pod/v2/admin/user/list`, { headers: { sessionToken: "forged" } })).status,
    ).toBe(401);
    expect(
      (await fetch(`${sandbox.podUrl}/pod/v2/admin/user/list`, { headers: { sessionToken: headers.sessionToken } }))
        .status,
    ).toBe(200);
    expect((await fetch(messagesUrl, { headers: { sessionToken: headers.sessionToken } })).status).toBe(401);
    // The key manager token is not a session token.
    expect(
      (
        await fetch(messagesUrl, {
          headers: { sessionToken: headers.keyManagerToken, keyManagerToken: headers.keyManagerToken },
        })
      ).status,
    ).toBe(401);
    expect((await fetch(messagesUrl, { headers })).status).toBe(200);
  });

  it("revokes every token, after which a fresh login works again", async () => {
    const headers = await loginHeaders(sandbox);
    const url = `${sandbox.podUrl}/pod/v2/admin/user/list`;
    expect((await fetch(url, { headers })).status).toBe(200);
    const revoke = await fetch(`${sandbox.podUrl}/sandbox/revoke-sessions`, { method: "POST" });
    expect(revoke.status).toBe(204);
    const refused = await fetch(url, { headers });
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ code: 401 });
    expect((await fetch(url, { headers: await loginHeaders(sandbox) })).status).toBe(200);
    sandbox.revokeSessions();
    expect((await fetch(url, { headers })).status).toBe(401);
  });

  it("answers 403 to the admin lists when the bot lacks the admin role", async () => {
    const plain = await startSymphonySandbox({
      seed: "auth",
      org: { users: 4, messages: 5 },
      botIsAdmin: false,
      botKey: sandbox.bot,
    });
    try {
      const headers = await loginHeaders(plain);
      const res = await postJson(`${plain.podUrl}/pod/v1/admin/streams/list`, {}, headers);
      expect(res.status).toBe(403);
      expect(await res.json()).toMatchObject({ code: 403 });
      expect(
        (await fetch(`${plain.podUrl}/pod/v3/users?uid=${plain.org.people[0]!.id}&local=true`, { headers })).status,
      ).toBe(200);
    } finally {
      await plain.close();
    }
  });
});

describe("simplified key delivery", () => {
  const feeds = (s: SymphonySandbox, headers: Record<string, string>) =>
    fetch(`${s.agentUrl}/agent/v5/datafeeds`, { headers });

  async function withPod(
    options: { simplifiedKeyDelivery: boolean; agentVersion?: string },
    check: (pod: SymphonySandbox, headers: { sessionToken: string; keyManagerToken: string }) => Promise<void>,
  ) {
    const pod = await startSymphonySandbox({
      seed: "skd",
      org: { users: 4, messages: 5 },
      botKey: sandbox.bot,
      ...options,
    });
    try {
      await check(pod, await loginHeaders(pod));
    } finally {
      await pod.close();
    }
  }

  it("needs the key manager token on agent calls when the pod does not offer it", async () => {
    const { sessionToken, keyManagerToken } = await loginHeaders(sandbox);
    expect((await feeds(sandbox, { sessionToken })).status).toBe(401);
    expect((await feeds(sandbox, { sessionToken, keyManagerToken: "" })).status).toBe(401);
    expect((await feeds(sandbox, { sessionToken, keyManagerToken })).status).toBe(200);
  });

  it("serves agent calls without a key manager token to a session that may use it, from agent 24.12", async () => {
    await withPod({ simplifiedKeyDelivery: true }, async (pod, { sessionToken, keyManagerToken }) => {
      expect(decodeJwt(sessionToken)).toMatchObject({ canUseSimplifiedKeyDelivery: true });
      const info = await fetch(`${pod.agentUrl}/agent/v1/info`); // no token needed
      expect(await info.json()).toMatchObject({ version: expect.stringMatching(/^Agent-25\.8\.1-/) as unknown });
      expect((await feeds(pod, { sessionToken })).status).toBe(200);
      expect((await feeds(pod, { sessionToken, keyManagerToken: "" })).status).toBe(200);
      expect((await feeds(pod, { sessionToken, keyManagerToken })).status).toBe(200);
      expect((await feeds(pod, { sessionToken, keyManagerToken: "forged" })).status).toBe(401);
    });
    await withPod(
      { simplifiedKeyDelivery: true, agentVersion: "24.10.1" },
      async (pod, { sessionToken, keyManagerToken }) => {
        expect(await (await fetch(`${pod.agentUrl}/agent/v1/info`)).json()).toMatchObject({
          version: expect.stringMatching(/^Agent-24\.10\.1-/) as unknown,
        });
        expect((await feeds(pod, { sessionToken })).status).toBe(401);
        expect((await feeds(pod, { sessionToken, keyManagerToken })).status).toBe(200);
      },
    );
  });
});
