import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { parseSymphonySettings } from "./settings";

const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
const valid = {
  podUrl: "https://acme.symphony.com/",
  agentUrl: "https://agent.acme.internal:8443/",
  keyManagerUrl: "https://km.acme.internal",
  botUsername: " archive-bot ",
  privateKeyPem: rsa.export({ type: "pkcs8", format: "pem" }).toString(),
};

describe("parseSymphonySettings", () => {
  it("accepts PKCS#8 and PKCS#1 RSA keys and normalises URLs and the username", () => {
    const settings = parseSymphonySettings(valid);
    expect(settings).toMatchObject({
      podUrl: "https://acme.symphony.com",
      agentUrl: "https://agent.acme.internal:8443",
      botUsername: "archive-bot",
    });
    expect(() =>
      parseSymphonySettings({ ...valid, privateKeyPem: rsa.export({ type: "pkcs1", format: "pem" }).toString() }),
    ).not.toThrow();
  });

  it("rejects URLs that are not http(s)", () => {
    expect(() => parseSymphonySettings({ ...valid, podUrl: "ftp://acme.symphony.com" })).toThrow(
      /Pod URL must start with https:\/\//,
    );
    expect(() => parseSymphonySettings({ ...valid, agentUrl: "agent.acme" })).toThrow(
      /Agent URL must start with https:\/\//,
    );
  });

  it("takes http:// only for a host that may be private (the client checks the rest when it connects)", () => {
    const http = { podUrl: "http://127.0.0.1:9443", agentUrl: "http://agent.corp.internal:8444" };
    expect(parseSymphonySettings({ ...valid, ...http })).toMatchObject(http);
    expect(() => parseSymphonySettings({ ...valid, podUrl: "http://8.8.8.8" })).toThrow(
      /Pod URL must start with https:\/\/ \(http:\/\/ only for a test pod on this machine or a private network with SYMPHONY_ALLOW_PRIVATE_HOSTS\)/,
    );
  });

  it.each([
    ["a query", "https://acme.symphony.com/x?"],
    ["a query with a value", "https://acme.symphony.com?a=b"],
    ["a fragment", "https://acme.symphony.com/#top"],
    ["a user and password", "https://bot:hunter2@acme.symphony.com"],
    ["a user", "https://bot@acme.symphony.com"],
  ])("rejects a base URL with %s without repeating it", (_, podUrl) => {
    let message = "";
    try {
      parseSymphonySettings({ ...valid, podUrl });
    } catch (error) {
      message = String(error);
    }
    expect(message).toMatch(/Pod URL must be the service's base address, without \?query, #fragment or user:password@/);
    expect(message).not.toContain("hunter2");
  });

  it("rejects a key that is not an RSA private key without repeating it", () => {
    const ec = generateKeyPairSync("ec", { namedCurve: "P-256" })
      .privateKey.export({ type: "pkcs8", format: "pem" })
      .toString();
    const garbage = "-----BEGIN RSA PRIVATE KEY-----\nTOPSECRETMATERIAL\n-----END RSA PRIVATE KEY-----";
    const publicKey = generateKeyPairSync("rsa", { modulusLength: 1024 })
      .publicKey.export({ type: "spki", format: "pem" })
      .toString();
    for (const privateKeyPem of [ec, garbage, publicKey]) {
      let message = "";
      try {
        parseSymphonySettings({ ...valid, privateKeyPem });
      } catch (error) {
        message = String(error) + JSON.stringify(error);
      }
      expect(message).toMatch(/Private key is not a PEM-encoded RSA private key/);
      expect(message).not.toContain("TOPSECRET");
      expect(message).not.toContain(privateKeyPem.split("\n")[1]);
    }
  });
});
