import { mkdtempSync, readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { tmpdir } from "node:os";
import path from "node:path";
import { fetch as undiciFetch } from "undici";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureSandboxCa } from "@/sandbox/m365/ca";
import { startSymphonySandbox, type SymphonySandbox } from "@/sandbox/symphony";
import {
  addressRefusal,
  checkHost,
  CleartextHostError,
  isAllowedAddress,
  isPublicAddress,
  PrivateAddressError,
  schemeAllowed,
  symphonyDispatcher,
} from "./network";
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
    "::ffff:7f00:1",
    "fe80::1%eth0",
    "not-an-address",
    // IPv6 forms that lead to a private IPv4 address: IPv4-compatible, NAT64, local-use NAT64, 6to4.
    "::7f00:1",
    "::127.0.0.1",
    "::a00:1",
    "64:ff9b::7f00:1",
    "64:ff9b::10.0.0.1",
    "64:ff9b::a9fe:a9fe",
    "64:ff9b:1::808:808",
    "2002:7f00:1::1",
    "2002:a9fe:a9fe::1",
    "2002:c0a8:101::",
  ])("refuses %s", (address) => {
    expect(isPublicAddress(address)).toBe(false);
  });

  it.each([
    "8.8.8.8",
    "172.32.0.1",
    "192.169.0.1",
    "2001:4860:4860::8888",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",
    "2002:808:808::1",
  ])("allows %s", (address) => {
    expect(isPublicAddress(address)).toBe(true);
  });
});

describe("isAllowedAddress with SYMPHONY_ALLOW_PRIVATE_HOSTS", () => {
  it.each(["127.0.0.1", "::1", "10.1.2.3", "192.168.1.1", "172.16.0.1", "fd00::1", "::ffff:7f00:1", "8.8.8.8"])(
    "allows %s",
    (address) => {
      expect(isAllowedAddress(address, true)).toBe(true);
    },
  );

  it.each([
    "169.254.169.254",
    "169.254.1.1",
    "100.100.100.200",
    "fe80::1",
    "fd00:ec2::254",
    "::ffff:169.254.169.254",
    "::a9fe:a9fe",
    "64:ff9b::169.254.169.254",
    "64:ff9b:1:a9fe:a9:fe00::",
    "2002:a9fe:a9fe::1",
    "not-an-address",
  ])("still refuses the link-local or cloud metadata address %s", (address) => {
    expect(isAllowedAddress(address, true)).toBe(false);
  });

  it("allows only public addresses without it", () => {
    expect(isAllowedAddress("127.0.0.1", false)).toBe(false);
    expect(isAllowedAddress("8.8.8.8", false)).toBe(true);
  });
});

describe("http:// URLs", () => {
  it("are taken only while private hosts are allowed, and never for a public IP address", () => {
    expect(schemeAllowed(new URL("https://acme.symphony.com"), false)).toBe(true);
    expect(schemeAllowed(new URL("http://acme.symphony.com"), false)).toBe(false);
    expect(schemeAllowed(new URL("http://127.0.0.1:9443"), false)).toBe(false);
    expect(schemeAllowed(new URL("http://127.0.0.1:9443"), true)).toBe(true);
    expect(schemeAllowed(new URL("http://[::1]:9443"), true)).toBe(true);
    expect(schemeAllowed(new URL("http://agent.corp.internal"), true)).toBe(true);
    expect(schemeAllowed(new URL("http://8.8.8.8"), true)).toBe(false);
    expect(schemeAllowed(new URL("ftp://127.0.0.1"), true)).toBe(false);
  });

  it("are refused before connecting when they lead to a public address", () => {
    expect(() => checkHost(new URL("http://8.8.8.8/pod/v1"), true)).toThrow(CleartextHostError);
    expect(() => checkHost(new URL("http://[64:ff9b::808:808]/"), true)).toThrow(/must start with https:\/\//);
    expect(() => checkHost(new URL("https://8.8.8.8/pod/v1"), true)).not.toThrow();
    expect(() => checkHost(new URL("http://127.0.0.1:9443/"), true)).not.toThrow();
    expect(() => checkHost(new URL("http://169.254.169.254/"), true)).toThrow(PrivateAddressError);
    // A host name's addresses are checked when it is resolved, by the connection pool.
    expect(addressRefusal("pod.acme.example", ["203.0.113.9", "8.8.8.8"], true, true)).toBeInstanceOf(
      CleartextHostError,
    );
    expect(addressRefusal("pod.acme.example", ["8.8.8.8"], true, false)).toBeUndefined();
    expect(addressRefusal("agent.corp", ["10.0.0.5"], true, true)).toBeUndefined();
    expect(addressRefusal("agent.corp", ["10.0.0.5"], false, true)).toBeInstanceOf(PrivateAddressError);
  });

  it("reach a host name on loopback through the pool only while private hosts are allowed", async () => {
    const target = await fixedServer(() => ({ status: 200, body: "ok" }));
    const byName = target.url.replace("127.0.0.1", "localhost");
    const allowed = symphonyDispatcher(true);
    const refused = symphonyDispatcher(false);
    try {
      const answer = await fetch(byName, { dispatcher: allowed } as RequestInit);
      expect(await answer.text()).toBe("ok");
      const error = await fetch(byName, { dispatcher: refused } as RequestInit).catch((e: unknown) => e);
      expect((error as Error).cause).toBeInstanceOf(PrivateAddressError);
      expect(target.requests).toEqual(["GET /"]);
    } finally {
      await Promise.all([allowed.close(), refused.close(), target.close()]);
    }
  });
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

  it("refuses link-local and cloud metadata addresses even while private hosts are allowed", async () => {
    for (const podUrl of ["http://169.254.169.254", "http://[fd00:ec2::254]", "http://[::ffff:a9fe:a9fe]"]) {
      const report = await testConnection(settings(podUrl), { ...quick, allowPrivateHosts: true });
      expect(report.ok).toBe(false);
      if (!report.ok) expect(report.reason).toMatch(/loopback, link-local or private address/);
    }
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

describe("TLS through the connection pool", () => {
  it("refuses a server whose certificate no trusted authority signed (its checks on addresses do not replace TLS's)", async () => {
    const untrusted = ensureSandboxCa(mkdtempSync(path.join(tmpdir(), "untrusted-ca-")));
    const server = createHttpsServer(
      { key: readFileSync(untrusted.keyPath), cert: readFileSync(untrusted.certPath) },
      (_request, response) => response.end("{}"),
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/pod/v1/podcert`;
      const failure = await undiciFetch(url, { dispatcher: symphonyDispatcher(true) }).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(Error);
      // The certificate's chain does not verify (OpenSSL's code depends on the untrusted CA's name).
      expect(((failure as Error).cause as { code?: string }).code).toMatch(
        /^(CERT_SIGNATURE_FAILURE|UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN)$/,
      );
    } finally {
      server.close();
    }
  });
});
