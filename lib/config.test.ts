import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "./config";

describe("parseConfig", () => {
  it("gives sensible defaults for an empty environment", () => {
    const config = parseConfig({});
    expect(config.PORT).toBe(3000);
    expect(config.STAGING_CONTAINER).toBe("symphony-staging");
    expect(config.ENTRA_AUTHORITY_HOST).toBe("https://login.microsoftonline.com");
    expect(config.DATABASE_URL).toBeUndefined();
  });

  it("keeps local copies of bundles in the temporary folder, up to 1 GB, unless told otherwise", () => {
    const config = parseConfig({});
    expect(config.STAGING_SPOOL_DIR).toBe(path.join(os.tmpdir(), "symphony-archive-spool"));
    expect(config.STAGING_SPOOL_MB).toBe(1024);
    expect(parseConfig({ STAGING_SPOOL_MB: "0" }).STAGING_SPOOL_MB).toBe(0);
    expect(() => parseConfig({ STAGING_SPOOL_MB: "-1" })).toThrow(/STAGING_SPOOL_MB/);
    expect(() => parseConfig({ STAGING_SPOOL_MB: "a lot" })).toThrow(/STAGING_SPOOL_MB/);
  });

  it("treats blank variables as absent", () => {
    expect(parseConfig({ DATABASE_URL: "", PORT: "" }).PORT).toBe(3000);
  });

  it.each([
    ["31 bytes", Buffer.alloc(31, 1).toString("base64")],
    ["33 bytes", Buffer.alloc(33, 1).toString("base64")],
    ["base64 without padding", Buffer.alloc(32, 1).toString("base64").replace(/=+$/, "")],
    ["base64url", Buffer.alloc(32, 0xfb).toString("base64url")],
    ["trailing garbage", `${Buffer.alloc(32, 1).toString("base64")}!!`],
  ])("refuses a SECRETS_KEY of %s", (_, value) => {
    expect(() => parseConfig({ SECRETS_KEY: value })).toThrow(/SECRETS_KEY: must be exactly 32 bytes/);
  });

  it("accepts a SECRETS_KEY of exactly 32 bytes in canonical base64", () => {
    const value = Buffer.alloc(32, 7).toString("base64");
    expect(parseConfig({ SECRETS_KEY: value }).SECRETS_KEY).toBe(value);
  });

  it("names every bad variable without echoing its value", () => {
    const secret = "not-base64-and-far-too-short";
    let error: unknown;
    try {
      parseConfig({ PORT: "eighty", DATABASE_URL: "mysql://x", SECRETS_KEY: secret });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain("PORT");
    expect(message).toContain("DATABASE_URL: must be a postgresql:// connection URL");
    expect(message).toContain("SECRETS_KEY: must be exactly 32 bytes in canonical base64");
    expect(message).not.toContain(secret);
  });

  it("takes one tenant, by id or domain, and refuses the authorities that sign in anyone's organisation", () => {
    const id = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    expect(parseConfig({ ENTRA_TENANT_ID: id }).ENTRA_TENANT_ID).toBe(id);
    expect(parseConfig({ ENTRA_TENANT_ID: "bank.onmicrosoft.com" }).ENTRA_TENANT_ID).toBe("bank.onmicrosoft.com");
    for (const authority of ["common", "organizations", "Consumers"]) {
      expect(() => parseConfig({ ENTRA_TENANT_ID: authority })).toThrow(
        "ENTRA_TENANT_ID: must be your tenant's id or domain, not common, organizations or consumers",
      );
    }
  });

  it("requires the key file with a client certificate", () => {
    expect(() => parseConfig({ ENTRA_CLIENT_CERTIFICATE_PATH: "/etc/cert.pem" })).toThrow("ENTRA_CLIENT_KEY_PATH");
  });

  it("reads the notification settings: recipients separated by commas, sender and recipients together", () => {
    const config = parseConfig({
      NOTIFY_WEBHOOK_URL: "https://hooks.example.com/services/T0/B0/secret",
      NOTIFY_EMAIL_FROM: "alerts@bank.example",
      NOTIFY_EMAIL_TO: " it@bank.example, ops@bank.example ",
    });
    expect(config.NOTIFY_EMAIL_TO).toEqual(["it@bank.example", "ops@bank.example"]);
    expect(() => parseConfig({ NOTIFY_EMAIL_TO: "it@bank.example" })).toThrow("NOTIFY_EMAIL_FROM are set together");
    expect(() => parseConfig({ NOTIFY_EMAIL_FROM: "alerts@bank.example", NOTIFY_EMAIL_TO: "it, ops" })).toThrow(
      "NOTIFY_EMAIL_TO",
    );
    expect(() => parseConfig({ NOTIFY_WEBHOOK_URL: "ftp://hooks.example.com/secret" })).toThrow(
      /NOTIFY_WEBHOOK_URL: must be an http/,
    );
  });
});
