import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSymphonySandbox, type SymphonySandbox } from "@/sandbox/symphony";
import { isPublicAddress } from "./network";
import { testConnection } from "./test-connection";

const quick = { retry: { maxAttempts: 2, baseDelayMs: 5, maxDelayMs: 20 }, requestTimeoutMs: 5_000 };

describe("isPublicAddress", () => {
  it.each([
    "127.0.0.1",
    "127.8.9.10",
    "10.1.2.3",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.1.1",
    "169.254.169.254",
    "0.0.0.0",
    "100.64.0.1",
    "224.0.0.1",
    "255.255.255.255",
    "::1",
    "::",
    "fe80::1",
    "fd00::1",
    "::ffff:127.0.0.1",
    "::ffff:169.254.169.254",
    "not-an-address",
  ])("refuses %s", (address) => {
    expect(isPublicAddress(address)).toBe(false);
  });

  it.each(["8.8.8.8", "172.32.0.1", "192.169.0.1", "2001:4860:4860::8888", "::ffff:8.8.8.8"])(
    "allows %s",
    (address) => {
      expect(isPublicAddress(address)).toBe(true);
    },
  );
});

/** A server that answers every request the same way and remembers what it was asked. */
async function fixedServer(
  answer: (request: IncomingMessage) => { status: number; headers?: Record<string, string>; body?: string },
) {
  const requests: string[] = [];
  const server: Server = createServer((request, response) => {
    requests.push(`${request.method} ${request.url}`);
    const { status, headers, body } = answer(request);
    response.writeHead(status, headers);
    response.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, requests, close: () => new Promise((resolve) => server.close(resolve)) };
}

describe("Test connection never becomes a way into the server's network", () => {
  let sandbox: SymphonySandbox;
  beforeAll(async () => {
    sandbox = await startSymphonySandbox({ seed: "network", org: { users: 4, messages: 10, largeAttachments: false } });
  });
  afterAll(() => sandbox?.close());

  const settings = (podUrl: string, others?: string) => ({
    podUrl,
    agentUrl: others ?? podUrl,
    keyManagerUrl: others ?? podUrl,
    botUsername: sandbox.bot.username,
    privateKeyPem: sandbox.bot.privateKeyPem,
  });

  it("refuses loopback, link-local and private hosts unless on-premises hosts are allowed", async () => {
    const target = await fixedServer(() => ({ status: 200, body: "{}" }));
    try {
      for (const podUrl of [target.url, target.url.replace("127.0.0.1", "localhost"), "http://169.254.169.254"]) {
        const report = await testConnection(settings(podUrl), { ...quick, allowPrivateHosts: false });
        expect(report.ok).toBe(false);
        if (!report.ok) expect(report.reason).toMatch(/loopback, link-local or private address/);
      }
      expect(target.requests).toEqual([]);
    } finally {
      await target.close();
    }
    const allowed = await testConnection(
      { ...settings(sandbox.podUrl), agentUrl: sandbox.agentUrl, keyManagerUrl: sandbox.keyManagerUrl },
      { ...quick, allowPrivateHosts: true },
    );
    expect(allowed.ok).toBe(true);
  });

  it("does not follow redirects", async () => {
    const inner = await fixedServer(() => ({ status: 200, body: '{"token":"x"}' }));
    const redirecting = await fixedServer((request) => ({
      status: 307,
      headers: { location: `${inner.url}${request.url ?? "/"}` },
    }));
    try {
      const report = await testConnection(settings(redirecting.url), { ...quick, allowPrivateHosts: true });
      expect(report.ok).toBe(false);
      if (!report.ok) expect(report.reason).toMatch(/redirect.*not followed/);
      expect(redirecting.requests.length).toBeGreaterThan(0);
      expect(inner.requests).toEqual([]);
    } finally {
      await Promise.all([inner.close(), redirecting.close()]);
    }
  });

  it("never shows what a foreign server answered", async () => {
    const body = "INTERNAL-ADMIN-PANEL root:x:0:0 <html>secret</html>";
    for (const status of [400, 401, 403, 404, 418, 500]) {
      const foreign = await fixedServer(() => ({ status, headers: { "content-type": "text/plain" }, body }));
      try {
        const report = await testConnection(settings(foreign.url), { ...quick, allowPrivateHosts: true });
        expect(report.ok).toBe(false);
        if (!report.ok) {
          expect(report.reason).not.toContain("INTERNAL-ADMIN-PANEL");
          expect(report.reason).not.toContain("secret");
        }
      } finally {
        await foreign.close();
      }
      const json = await fixedServer(() => ({ status, body: JSON.stringify({ code: status, message: body }) }));
      try {
        const report = await testConnection(settings(json.url), { ...quick, allowPrivateHosts: true });
        if (!report.ok) expect(report.reason).not.toContain("INTERNAL-ADMIN-PANEL");
      } finally {
        await json.close();
      }
    }
  });
});
