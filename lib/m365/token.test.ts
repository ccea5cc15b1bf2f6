import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startM365Sandbox, type M365Sandbox } from "@/sandbox/m365";
import { parseConfig } from "@/lib/config";
import { M365AuthError } from "./errors";
import { M365_CLOUDS, parseM365Settings } from "./settings";
import { createTokenProvider, GRAPH_SCOPE, graphScope } from "./token";

describe("graphScope", () => {
  it.each([
    ["https://graph.microsoft.com", "https://graph.microsoft.com/.default"],
    ["https://graph.microsoft.com/v1.0", "https://graph.microsoft.com/.default"],
    ["https://graph.microsoft.us/beta", "https://graph.microsoft.us/.default"],
    ["https://dod-graph.microsoft.us/v1.0/", "https://dod-graph.microsoft.us/.default"],
    ["https://microsoftgraph.chinacloudapi.cn", "https://microsoftgraph.chinacloudapi.cn/.default"],
    ["https://localhost:8443/v1.0", "https://localhost:8443/.default"],
  ])("%s asks for %s", (graphBaseUrl, scope) => {
    expect(graphScope(graphBaseUrl)).toBe(scope);
  });

  it("keeps the worldwide scope as GRAPH_SCOPE", () => {
    expect(GRAPH_SCOPE).toBe("https://graph.microsoft.com/.default");
  });
});

describe("M365_CLOUD presets", () => {
  it.each([
    ["worldwide", "https://login.microsoftonline.com", "https://graph.microsoft.com"],
    ["usgov-l4", "https://login.microsoftonline.us", "https://graph.microsoft.us"],
    ["usgov-l5", "https://login.microsoftonline.us", "https://dod-graph.microsoft.us"],
    ["china", "https://login.chinacloudapi.cn", "https://microsoftgraph.chinacloudapi.cn"],
  ])("%s sets the authority host and Graph URL together", (cloud, authorityHost, graphBaseUrl) => {
    const config = parseConfig({ M365_CLOUD: cloud });
    expect(config.ENTRA_AUTHORITY_HOST).toBe(authorityHost);
    expect(config.GRAPH_BASE_URL).toBe(graphBaseUrl);
    expect(M365_CLOUDS[cloud as keyof typeof M365_CLOUDS]).toEqual({ authorityHost, graphBaseUrl });
    expect(graphScope(config.GRAPH_BASE_URL)).toBe(`${graphBaseUrl}/.default`);
  });

  it("defaults to worldwide", () => {
    const config = parseConfig({});
    expect(config.M365_CLOUD).toBe("worldwide");
    expect(config.ENTRA_AUTHORITY_HOST).toBe("https://login.microsoftonline.com");
    expect(config.GRAPH_BASE_URL).toBe("https://graph.microsoft.com");
  });

  it("lets an explicit ENTRA_AUTHORITY_HOST or GRAPH_BASE_URL win over the preset", () => {
    const config = parseConfig({
      M365_CLOUD: "usgov-l5",
      ENTRA_AUTHORITY_HOST: "https://localhost:8443",
      GRAPH_BASE_URL: "https://localhost:8443/v1.0",
    });
    expect(config.ENTRA_AUTHORITY_HOST).toBe("https://localhost:8443");
    expect(config.GRAPH_BASE_URL).toBe("https://localhost:8443/v1.0");
    const onlyGraph = parseConfig({ M365_CLOUD: "china", GRAPH_BASE_URL: "https://localhost:8443/v1.0" });
    expect(onlyGraph.ENTRA_AUTHORITY_HOST).toBe("https://login.chinacloudapi.cn");
    expect(onlyGraph.GRAPH_BASE_URL).toBe("https://localhost:8443/v1.0");
  });

  it("refuses an unknown cloud by name", () => {
    expect(() => parseConfig({ M365_CLOUD: "germany" })).toThrow(
      /M365_CLOUD: must be one of worldwide, usgov-l4, usgov-l5, china/,
    );
  });
});

const caDir = process.env.M365_SANDBOX_CA_DIR;

// The sandbox's Entra gives tokens only for its own Graph's scope, like a national cloud.
describe.skipIf(!caDir || !process.env.NODE_EXTRA_CA_CERTS)("token provider against the sandbox", () => {
  let sandbox: M365Sandbox;
  beforeAll(async () => {
    sandbox = await startM365Sandbox({ caDir, consented: true, mailboxes: [] });
  });
  afterAll(() => sandbox?.close());

  const provider = (graphBaseUrl: string) =>
    createTokenProvider(
      parseM365Settings({
        tenantId: sandbox.tenantId,
        clientId: sandbox.app.clientId,
        clientSecret: sandbox.app.clientSecret,
        authorityHost: sandbox.url,
        graphBaseUrl,
      }),
    );

  it("asks for the scope of the configured Graph URL", async () => {
    const token = await provider(sandbox.graphBaseUrl).getAccessToken();
    expect(decodeJwt(token).appid).toBe(sandbox.app.clientId);
  });

  it("explains another cloud's Graph URL (AADSTS500011) and names the setting to check", async () => {
    const error = await provider(M365_CLOUDS["usgov-l4"].graphBaseUrl)
      .getAccessToken()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(M365AuthError);
    const message = (error as M365AuthError).message;
    expect(message).toContain("M365_CLOUD");
    expect(message).toContain("invalid_resource");
    expect(message).toContain("https://graph.microsoft.us was not found");
    expect(message).not.toContain(sandbox.app.clientSecret);
  });
});
