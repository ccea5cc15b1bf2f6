import { generateKeyPairSync } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSymphonySandbox, type SymphonySandbox } from "@/sandbox/symphony/index";
import { testConnection } from "./test-connection";

let sandbox: SymphonySandbox;

beforeAll(async () => {
  sandbox = await startSymphonySandbox({
    seed: "test-connection",
    org: { users: 8, messages: 60, largeAttachments: false },
  });
});
afterAll(() => sandbox?.close());

const settingsOf = (s: SymphonySandbox) => ({
  podUrl: s.podUrl,
  agentUrl: s.agentUrl,
  keyManagerUrl: s.keyManagerUrl,
  botUsername: s.bot.username,
  privateKeyPem: s.bot.privateKeyPem,
});
const quick = { retry: { maxAttempts: 2, baseDelayMs: 5, maxDelayMs: 20 }, requestTimeoutMs: 5_000 };

async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}

function expectNoSecret(reason: string, pem: string) {
  expect(reason).not.toContain("PRIVATE KEY");
  expect(reason).not.toContain(pem.split("\n")[1]);
}

describe("testConnection against the Symphony sandbox", () => {
  it("signs in and reports the bot, the pod's conversations and how many of them the bot can read", async () => {
    const report = await testConnection(settingsOf(sandbox), quick);
    expect(report).toEqual({
      ok: true,
      bot: { username: sandbox.bot.username, id: sandbox.bot.userId, displayName: sandbox.org.bot.displayName },
      streams: sandbox.org.streams.length,
      readable: sandbox.org.streams.filter((s) => s.botIsMember).length,
    });
    expect(report.ok && report.readable).toBeLessThan(sandbox.org.streams.length);

    // Who the bot is comes from /pod/v2/sessioninfo: without walls (listed per user) no user is paged.
    const usersListed = () => sandbox.stats.byRoute["GET /pod/v2/admin/user/list"] ?? 0;
    const before = usersListed();
    const chats = await testConnection({ ...settingsOf(sandbox), streamTypes: ["IM", "MIM", "ROOM"] }, quick);
    expect(chats).toMatchObject({ ok: true, bot: { id: sandbox.bot.userId } });
    expect(usersListed()).toBe(before);
    expect(sandbox.stats.byRoute["GET /pod/v2/sessioninfo"]).toBeGreaterThan(0);

    // Rooms without group chats (ROOMs marked groupChat): the bot's own list cannot tell them apart.
    const rooms = await testConnection({ ...settingsOf(sandbox), streamTypes: ["ROOM"] }, quick);
    const named = sandbox.org.streams.filter((s) => s.type === "ROOM" && !s.groupChat);
    expect(rooms).toMatchObject({
      ok: true,
      streams: named.length,
      readable: named.filter((s) => s.botIsMember).length,
    });
  });

  it("says the key was rejected when the private key is not the bot's", async () => {
    const otherKey = generateKeyPairSync("rsa", { modulusLength: 2048 })
      .privateKey.export({ type: "pkcs8", format: "pem" })
      .toString();
    const report = await testConnection({ ...settingsOf(sandbox), privateKeyPem: otherKey }, quick);
    expect(report.ok).toBe(false);
    const reason = report.ok ? "" : report.reason;
    // Our own words only: what the pod answered goes to the server log, never to the page.
    expect(reason).toMatch(/pod rejected the bot's key for user "[^"]+"\. Check the bot username/i);
    expect(reason).not.toMatch(/signature/i);
    expect(reason).toMatch(/public key/);
    expectNoSecret(reason, otherKey);
  });

  it("says the bot username is unknown as a rejected key for that user", async () => {
    const report = await testConnection({ ...settingsOf(sandbox), botUsername: "someone.else" }, quick);
    expect(report).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/rejected the bot's key for user "someone\.else"/) as unknown,
    });
  });

  it("says which service cannot be reached and why", async () => {
    const unreachable = await closedPortUrl();
    const pod = await testConnection({ ...settingsOf(sandbox), podUrl: unreachable }, quick);
    expect(pod).toEqual({
      ok: false,
      reason: expect.stringContaining(`Cannot reach the pod at ${unreachable} (connection refused)`) as unknown,
    });
    const km = await testConnection({ ...settingsOf(sandbox), keyManagerUrl: unreachable }, quick);
    expect(km).toEqual({
      ok: false,
      reason: expect.stringContaining(`Cannot reach the key manager at ${unreachable}`) as unknown,
    });
    const agent = await testConnection({ ...settingsOf(sandbox), agentUrl: unreachable }, quick);
    expect(agent).toEqual({
      ok: false,
      reason: expect.stringContaining(`Cannot reach the agent at ${unreachable}`) as unknown,
    });
  });

  it("says when a URL points at the wrong service or at something that is not Symphony", async () => {
    const swapped = await testConnection({ ...settingsOf(sandbox), podUrl: sandbox.agentUrl }, quick);
    expect(swapped).toEqual({
      ok: false,
      reason: expect.stringMatching(/pod at .* has no POST \/login\/pubkey\/authenticate/) as unknown,
    });

    const portal = createServer((_req, res) =>
      res.writeHead(200, { "content-type": "text/html" }).end("<html>Sign in to the proxy</html>"),
    );
    await new Promise<void>((resolve) => portal.listen(0, "127.0.0.1", resolve));
    try {
      const url = `http://127.0.0.1:${(portal.address() as AddressInfo).port}`;
      const report = await testConnection({ ...settingsOf(sandbox), podUrl: url }, quick);
      expect(report).toEqual({
        ok: false,
        reason: expect.stringContaining(`The pod at ${url} did not answer like Symphony`) as unknown,
      });
    } finally {
      await new Promise((resolve) => portal.close(resolve));
    }
  });

  it("says the sign-in itself was refused (403), not that a role is missing", async () => {
    const pod = createServer((_req, res) =>
      res
        .writeHead(403, { "content-type": "application/json" })
        .end(JSON.stringify({ code: 403, message: "Forbidden to access this endpoint" })),
    );
    await new Promise<void>((resolve) => pod.listen(0, "127.0.0.1", resolve));
    try {
      const url = `http://127.0.0.1:${(pod.address() as AddressInfo).port}`;
      const report = await testConnection({ ...settingsOf(sandbox), podUrl: url }, quick);
      expect(report.ok).toBe(false);
      expect(!report.ok && report.reason).toMatch(/^The pod refused the sign-in of ".*" \(HTTP 403\)/);
      expect(!report.ok && report.reason).not.toMatch(/User Provisioning/);
    } finally {
      await new Promise((resolve) => pod.close(resolve));
    }
  });

  it("says the bot lacks the admin role when the admin lists are forbidden", async () => {
    const notAdmin = await startSymphonySandbox({
      seed: "test-connection",
      org: { users: 8, messages: 60, largeAttachments: false },
      botKey: { privateKeyPem: sandbox.bot.privateKeyPem, publicKeyPem: sandbox.bot.publicKeyPem },
      botIsAdmin: false,
    });
    try {
      const report = await testConnection(settingsOf(notAdmin), quick);
      expect(report).toEqual({
        ok: false,
        reason: expect.stringContaining("needs the User Provisioning (admin) role") as unknown,
      });
    } finally {
      await notAdmin.close();
    }
  });

  it("lists every invalid setting without repeating the key", async () => {
    const pem = "-----BEGIN PRIVATE KEY-----\nNOTAREALKEYBUTSECRET\n-----END PRIVATE KEY-----";
    const report = await testConnection({
      podUrl: "acme.symphony.com",
      agentUrl: sandbox.agentUrl,
      keyManagerUrl: "ftp://km",
      botUsername: "",
      privateKeyPem: pem,
    });
    expect(report.ok).toBe(false);
    const reason = report.ok ? "" : report.reason;
    for (const part of [
      "Pod URL must start with https://",
      "Key manager URL must start with https://",
      "Bot username is required",
      "Private key is not a PEM-encoded RSA private key",
    ]) {
      expect(reason).toContain(part);
    }
    expectNoSecret(reason, pem);
  });
});
