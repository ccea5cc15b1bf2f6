import { generateKeyPairSync } from "node:crypto";
import { afterEach, describe, expect, it, vi } from "vitest";
import type * as ConfigModule from "@/lib/config";
import { connectorNameSchema, mappingSettingsSchema, normalisedUrlNotes, sourceSettingsSchema } from "./schemas";

// SYMPHONY_ALLOW_PRIVATE_HOSTS as each test sets it (the test run itself allows private hosts).
const privateHosts = vi.hoisted(() => ({ allowed: false }));
vi.mock("@/lib/config", async (importOriginal) => {
  const actual = await importOriginal<typeof ConfigModule>();
  return { ...actual, config: () => ({ ...actual.config(), SYMPHONY_ALLOW_PRIVATE_HOSTS: privateHosts.allowed }) };
});
afterEach(() => {
  privateHosts.allowed = false;
});

const rsaPem = generateKeyPairSync("rsa", { modulusLength: 2048 })
  .privateKey.export({ type: "pkcs8", format: "pem" })
  .toString();
const ecPem = generateKeyPairSync("ec", { namedCurve: "P-256" })
  .privateKey.export({ type: "pkcs8", format: "pem" })
  .toString();

const source = {
  podUrl: "https://acme.symphony.com/",
  agentUrl: "https://agent.acme.example",
  keyManagerUrl: "https://km.acme.example",
  botUsername: " archive-bot ",
  privateKeyPem: rsaPem,
  streamTypes: ["IM", "ROOM"],
  startDate: "2026-01-31",
};

describe("connectorNameSchema", () => {
  it("trims and accepts a normal name", () => {
    expect(connectorNameSchema.parse("  Symphony archive  ")).toBe("Symphony archive");
  });
  it.each([
    ["   ", "Enter a name"],
    ["x".repeat(65), "at most 64"],
    ["bad\u0007name", "control characters"],
    ["Desk\u202Egnp.exe", "invisible formatting"],
    ["zero\u200Bwidth", "invisible formatting"],
    ["two\u2028lines", "line separators"],
    ["para\u2029graph", "line separators"],
  ])("rejects %j", (name, message) => {
    const result = connectorNameSchema.safeParse(name);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toContain(message);
  });
});

it("normalises look-alike spellings to one name (NFKC)", () => {
  expect(connectorNameSchema.parse("Ｒａｔｅｓ ｄｅｓｋ")).toBe("Rates desk");
  expect(connectorNameSchema.parse("ﬁx desk")).toBe("fix desk");
});

it("refuses RSA keys shorter than 2048 bits", () => {
  const short = generateKeyPairSync("rsa", { modulusLength: 1024 })
    .privateKey.export({ type: "pkcs8", format: "pem" })
    .toString();
  const result = sourceSettingsSchema.safeParse({ ...source, privateKeyPem: short });
  expect(result.success).toBe(false);
  expect(result.error?.issues[0]?.message).toContain("at least 2048 bits");
});

describe("sourceSettingsSchema", () => {
  it("removes a trailing /pod, /agent or /relay the admin pasted, and says so", () => {
    const typed = {
      podUrl: "https://acme.symphony.com/pod/",
      agentUrl: "https://agent.acme.example/AGENT",
      keyManagerUrl: "https://km.acme.example/relay",
    };
    expect(sourceSettingsSchema.parse({ ...source, ...typed })).toMatchObject({
      podUrl: "https://acme.symphony.com",
      agentUrl: "https://agent.acme.example",
      keyManagerUrl: "https://km.acme.example",
    });
    expect(normalisedUrlNotes(typed)).toEqual([
      "/pod was removed from the pod URL (the connector adds it).",
      "/agent was removed from the agent URL (the connector adds it).",
      "/relay was removed from the key manager URL (the connector adds it).",
    ]);
    // A path that only ends like a service path is kept.
    expect(sourceSettingsSchema.parse({ ...source, podUrl: "https://acme.example/mypod" }).podUrl).toBe(
      "https://acme.example/mypod",
    );
    expect(normalisedUrlNotes({ podUrl: "https://acme.symphony.com/" })).toEqual([]);
  });

  it("normalises URLs, trims the bot name and parses the start date", () => {
    const parsed = sourceSettingsSchema.parse(source);
    expect(parsed.podUrl).toBe("https://acme.symphony.com");
    expect(parsed.botUsername).toBe("archive-bot");
    expect(parsed.startDate?.toISOString()).toBe("2026-01-31T00:00:00.000Z");
  });

  it("keeps the key on file when the key field is empty", () => {
    expect(sourceSettingsSchema.parse({ ...source, privateKeyPem: "" }).privateKeyPem).toBeUndefined();
  });

  it.each([
    [
      "not a key at all",
      "-----BEGIN PRIVATE KEY-----\nZ2FyYmFnZSBnYXJiYWdlIGdhcmJhZ2UgZ2FyYmFnZQ==\n-----END PRIVATE KEY-----",
    ],
    ["an EC key", ecPem],
  ])("rejects %s without echoing it", (_, pem) => {
    const result = sourceSettingsSchema.safeParse({ ...source, privateKeyPem: pem });
    expect(result.success).toBe(false);
    const messages = JSON.stringify(result.error?.issues.map((i) => i.message));
    expect(messages).toContain("not a PEM-encoded RSA private key");
    expect(messages).not.toContain(pem.slice(30, 60));
  });

  it("names each wrong field", () => {
    const result = sourceSettingsSchema.safeParse({
      ...source,
      podUrl: "ftp://x",
      streamTypes: [],
      startDate: "2999-01-01",
    });
    const fields = result.error?.issues.map((i) => i.path[0]);
    expect(fields).toEqual(expect.arrayContaining(["podUrl", "streamTypes", "startDate"]));
  });
});

describe("sourceSettingsSchema's service URLs", () => {
  const podUrlError = (podUrl: string) =>
    sourceSettingsSchema.safeParse({ ...source, podUrl }).error?.issues.find((issue) => issue.path[0] === "podUrl")
      ?.message;
  const HTTPS =
    "The pod URL must start with https:// (http:// only for a test pod on this machine or a private network with SYMPHONY_ALLOW_PRIVATE_HOSTS).";

  it("refuses http:// unless private hosts are allowed", () => {
    expect(podUrlError("http://acme.symphony.com")).toBe(HTTPS);
    expect(podUrlError("http://127.0.0.1:9443")).toBe(HTTPS);
    expect(podUrlError("acme.symphony.com")).toBe(HTTPS);
    expect(podUrlError("https://acme.symphony.com")).toBeUndefined();
  });

  it("takes http:// for a loopback or private host when they are allowed, never for a public address", () => {
    privateHosts.allowed = true;
    expect(podUrlError("http://127.0.0.1:9443")).toBeUndefined();
    expect(podUrlError("http://[::1]:9443")).toBeUndefined();
    // Resolved when it is called: network.ts refuses http:// to a public address then.
    expect(podUrlError("http://pod.corp.internal")).toBeUndefined();
    expect(podUrlError("http://8.8.8.8")).toBe(HTTPS);
  });

  it.each([
    "https://acme.symphony.com/x?",
    "https://acme.symphony.com/?tenant=1",
    "https://acme.symphony.com/#pod",
    "https://bot:hunter2@acme.symphony.com",
    "https://bot@acme.symphony.com/pod",
  ])("refuses %s: requests are built by appending paths to it", (podUrl) => {
    const message = podUrlError(podUrl);
    expect(message).toBe(
      "The pod URL must be the service's base address, without ?query, #fragment or user:password@ (for example https://acme.symphony.com).",
    );
    expect(message).not.toContain("hunter2");
  });

  it("checks the agent and key manager URLs the same way", () => {
    const result = sourceSettingsSchema.safeParse({
      ...source,
      agentUrl: "http://agent.acme.example",
      keyManagerUrl: "https://km.acme.example/relay?x=1",
    });
    expect(result.error?.issues.map((issue) => [issue.path[0], issue.message])).toEqual([
      ["agentUrl", expect.stringContaining("The agent URL must start with https://") as unknown],
      ["keyManagerUrl", expect.stringContaining("The key manager URL must be the service's base address") as unknown],
    ]);
  });
});

describe("mappingSettingsSchema", () => {
  it("lower-cases the fallback mailbox and treats empty as none", () => {
    expect(
      mappingSettingsSchema.parse({ mappingMode: "AUTO", fallbackMailbox: " Archive@Contoso.test " }).fallbackMailbox,
    ).toBe("archive@contoso.test");
    expect(mappingSettingsSchema.parse({ mappingMode: "CSV", fallbackMailbox: "" }).fallbackMailbox).toBeUndefined();
  });
  it("rejects a fallback that is not an address", () => {
    expect(mappingSettingsSchema.safeParse({ mappingMode: "AUTO", fallbackMailbox: "archive" }).success).toBe(false);
  });
});
