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
      /Pod URL must be an http/,
    );
    expect(() => parseSymphonySettings({ ...valid, agentUrl: "agent.acme" })).toThrow(/Agent URL must be an http/);
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
