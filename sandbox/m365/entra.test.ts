import { createHash, randomBytes } from "node:crypto";
import { ConfidentialClientApplication } from "@azure/msal-node";
import { createRemoteJWKSet, decodeJwt, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { M365Sandbox } from "./index";
import { graphScope, msalWithSecret, skipWithoutCa, startTestSandbox } from "./test-support";

describe.skipIf(skipWithoutCa)("M365 sandbox: Entra ID with the real msal-node", () => {
  let sandbox: M365Sandbox;
  beforeAll(async () => {
    sandbox = await startTestSandbox();
  });
  afterAll(() => sandbox?.close());

  it("gives an app-only Graph token for the client secret", async () => {
    const result = await msalWithSecret(sandbox).acquireTokenByClientCredential({ scopes: [graphScope(sandbox)] });
    const claims = decodeJwt(result!.accessToken);
    expect(claims).toMatchObject({
      aud: "https://graph.microsoft.com",
      appid: sandbox.app.clientId,
      tid: sandbox.tenantId,
    });
    expect(claims.roles).toContain("Mail.ReadWrite");
  });

  it("gives a token for a certificate assertion, with a SHA-1 (x5t, RS256) or SHA-256 (x5t#S256, PS256) thumbprint", async () => {
    for (const clientCertificate of [
      { thumbprint: sandbox.app.thumbprint, privateKey: sandbox.app.privateKeyPem },
      {
        thumbprintSha256: sandbox.app.thumbprintSha256,
        privateKey: sandbox.app.privateKeyPem,
        x5c: sandbox.app.certificatePem,
      },
    ]) {
      const msal = new ConfidentialClientApplication({
        auth: {
          clientId: sandbox.app.clientId,
          authority: sandbox.authority,
          clientCertificate,
          knownAuthorities: [sandbox.authorityHost],
        },
      });
      const result = await msal.acquireTokenByClientCredential({ scopes: [graphScope(sandbox)] });
      expect(decodeJwt(result!.accessToken).appid).toBe(sandbox.app.clientId);
    }
  });

  it("works with cloudDiscoveryMetadata from its instance discovery instead of knownAuthorities", async () => {
    const discovery = await fetch(
      `${sandbox.url}/common/discovery/instance?api-version=1.1&authorization_endpoint=${sandbox.authority}/oauth2/v2.0/authorize`,
    );
    const msal = new ConfidentialClientApplication({
      auth: {
        clientId: sandbox.app.clientId,
        authority: sandbox.authority,
        clientSecret: sandbox.app.clientSecret,
        cloudDiscoveryMetadata: JSON.stringify(await discovery.json()),
      },
    });
    const result = await msal.acquireTokenByClientCredential({ scopes: [graphScope(sandbox)] });
    expect(result?.accessToken).toBeTruthy();
  });

  it("refuses a wrong secret with invalid_client AADSTS7000215 and does not echo the secret", async () => {
    const error = await msalWithSecret(sandbox, "not-the-secret-value-123")
      .acquireTokenByClientCredential({ scopes: [graphScope(sandbox)] })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ errorCode: "invalid_client" });
    expect(String((error as Error).message)).toContain("AADSTS7000215");
    expect(String((error as Error).message)).not.toContain("not-the-secret-value-123");
  });

  it("refuses a certificate that is not registered on the app (AADSTS700027)", async () => {
    const other = await startTestSandbox();
    try {
      const msal = new ConfidentialClientApplication({
        auth: {
          clientId: sandbox.app.clientId,
          authority: sandbox.authority,
          clientCertificate: { thumbprint: other.app.thumbprint, privateKey: other.app.privateKeyPem },
          knownAuthorities: [sandbox.authorityHost],
        },
      });
      const error = await msal
        .acquireTokenByClientCredential({ scopes: [graphScope(sandbox)] })
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ errorCode: "invalid_client" });
      expect(String((error as Error).message)).toContain("AADSTS700027");
    } finally {
      await other.close();
    }
  });

  it("answers token errors in Entra's JSON shape (unknown client, non-.default scope, unknown tenant)", async () => {
    const post = (tenant: string, form: Record<string, string>) =>
      fetch(`${sandbox.url}/${tenant}/oauth2/v2.0/token`, { method: "POST", body: new URLSearchParams(form) });
    const unknownClient = await post(sandbox.tenantId, {
      grant_type: "client_credentials",
      client_id: "00000000-0000-0000-0000-000000000001",
      client_secret: "x",
      scope: graphScope(sandbox),
    });
    expect(unknownClient.status).toBe(400);
    expect(await unknownClient.json()).toMatchObject({ error: "unauthorized_client", error_codes: [700016] });

    const badScope = await post(sandbox.tenantId, {
      grant_type: "client_credentials",
      client_id: sandbox.app.clientId,
      client_secret: sandbox.app.clientSecret,
      scope: "Mail.ReadWrite",
    });
    const badScopeBody: unknown = await badScope.json();
    expect(badScopeBody).toMatchObject({ error: "invalid_scope", error_codes: [1002012] });
    expect(badScopeBody).toHaveProperty("trace_id");
    expect(badScopeBody).toHaveProperty("correlation_id");

    const unknownTenant = await post("11111111-2222-3333-4444-555555555555", { grant_type: "client_credentials" });
    expect(await unknownTenant.json()).toMatchObject({ error_codes: [90002] });
  });

  it("gives a token only for its own Graph's scope; another cloud's Graph is invalid_resource AADSTS500011", async () => {
    const msal = msalWithSecret(sandbox);
    for (const scope of [graphScope(sandbox), "00000003-0000-0000-c000-000000000000/.default"]) {
      const result = await msal.acquireTokenByClientCredential({ scopes: [scope], skipCache: true });
      expect(decodeJwt(result!.accessToken).appid).toBe(sandbox.app.clientId);
    }
    expect(graphScope(sandbox)).toBe(`${sandbox.url}/.default`);

    for (const resource of [
      "https://graph.microsoft.com",
      "https://graph.microsoft.us",
      "https://dod-graph.microsoft.us",
      "https://microsoftgraph.chinacloudapi.cn",
    ]) {
      const error = await msal
        .acquireTokenByClientCredential({ scopes: [`${resource}/.default`] })
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ errorCode: "invalid_resource" });
      expect(String((error as Error).message)).toContain("AADSTS500011");
      expect(String((error as Error).message)).toContain(`The resource principal named ${resource} was not found`);
    }

    const raw = await fetch(`${sandbox.authority}/oauth2/v2.0/token`, {
      method: "POST",
      body: new URLSearchParams({
        grant_type: "client_credentials",
        client_id: sandbox.app.clientId,
        client_secret: sandbox.app.clientSecret,
        scope: "https://graph.microsoft.us/.default",
      }),
    });
    expect(raw.status).toBe(400);
    expect(await raw.json()).toMatchObject({ error: "invalid_resource", error_codes: [500011] });
  });

  it("publishes an OpenID configuration whose issuer and JWKS verify the ID tokens it signs", async () => {
    type OpenIdConfiguration = { issuer: string; token_endpoint: string };
    const config = (await (
      await fetch(`${sandbox.url}/${sandbox.tenantId}/v2.0/.well-known/openid-configuration`)
    ).json()) as OpenIdConfiguration;
    expect(config.issuer).toBe(`${sandbox.url}/${sandbox.tenantId}/v2.0`);
    expect(config.token_endpoint).toBe(`${sandbox.authority}/oauth2/v2.0/token`);
    const organizations = (await (
      await fetch(`${sandbox.url}/organizations/v2.0/.well-known/openid-configuration`)
    ).json()) as OpenIdConfiguration;
    expect(organizations.issuer).toBe(`${sandbox.url}/{tenantid}/v2.0`);
  });

  describe("authorization code sign-in (as next-auth does it)", () => {
    const redirectUri = "http://localhost:3000/api/auth/callback/azure-ad";

    async function signIn(email: string, extra: Record<string, string> = {}) {
      const verifier = randomBytes(32).toString("base64url");
      const params = new URLSearchParams({
        client_id: sandbox.webApp.clientId,
        response_type: "code",
        redirect_uri: redirectUri,
        scope: "openid profile email",
        state: "state-123",
        nonce: "nonce-456",
        code_challenge: createHash("sha256").update(verifier).digest("base64url"),
        code_challenge_method: "S256",
        ...extra,
      });
      const page = await fetch(`${sandbox.authority}/oauth2/v2.0/authorize?${params}`);
      const html = await page.text();
      expect(html).toContain(email);
      params.set("login_hint", email);
      const chosen = await fetch(`${sandbox.authority}/oauth2/v2.0/authorize`, {
        method: "POST",
        body: params,
        redirect: "manual",
      });
      return { chosen, verifier };
    }

    async function redeem(code: string, verifier: string) {
      const response = await fetch(`${sandbox.authority}/oauth2/v2.0/token`, {
        method: "POST",
        headers: {
          Authorization: `Basic ${Buffer.from(`${sandbox.webApp.clientId}:${sandbox.webApp.clientSecret}`).toString("base64")}`,
        },
        body: new URLSearchParams({
          grant_type: "authorization_code",
          code,
          redirect_uri: redirectUri,
          code_verifier: verifier,
        }),
      });
      return { status: response.status, body: (await response.json()) as { id_token?: string } };
    }

    it("returns an ID token with the Connector.Admin role for the admin and without roles for the other user", async () => {
      const jwks = createRemoteJWKSet(new URL(`${sandbox.authority}/discovery/v2.0/keys`));
      const [admin, viewer] = [
        sandbox.signInUsers.find((u) => u.roles.length > 0)!,
        sandbox.signInUsers.find((u) => u.roles.length === 0)!,
      ];
      for (const user of [admin, viewer]) {
        const { chosen, verifier } = await signIn(user.email);
        expect(chosen.status).toBe(302);
        const location = new URL(chosen.headers.get("location")!);
        expect(`${location.origin}${location.pathname}`).toBe(redirectUri);
        expect(location.searchParams.get("state")).toBe("state-123");
        const { status, body } = await redeem(location.searchParams.get("code")!, verifier);
        expect(status).toBe(200);
        const { payload } = await jwtVerify(body.id_token ?? "", jwks, {
          issuer: `${sandbox.url}/${sandbox.tenantId}/v2.0`,
          audience: sandbox.webApp.clientId,
        });
        expect(payload).toMatchObject({
          nonce: "nonce-456",
          preferred_username: user.email,
          email: user.email,
          name: user.name,
          tid: sandbox.tenantId,
        });
        expect(payload.oid).toMatch(/^[0-9a-f-]{36}$/);
        if (user === admin) expect(payload.roles).toEqual(["Connector.Admin"]);
        else expect(payload.roles).toBeUndefined();
      }
    });

    it("posts the code back with response_mode=form_post, and a code works once and only with its PKCE verifier", async () => {
      const user = sandbox.signInUsers[0]!;
      const { chosen } = await signIn(user.email, { response_mode: "form_post" });
      expect(chosen.status).toBe(200);
      const html = await chosen.text();
      expect(html).toContain(`action="${redirectUri}"`);
      const [, code = ""] = /name="code" value="([^"]+)"/.exec(html) ?? [];
      expect((await redeem(code, "wrong-verifier")).body).toMatchObject({
        error: "invalid_grant",
        error_codes: [501481],
      });

      const second = await signIn(user.email);
      const secondCode = new URL(second.chosen.headers.get("location")!).searchParams.get("code")!;
      expect((await redeem(secondCode, second.verifier)).status).toBe(200);
      expect((await redeem(secondCode, second.verifier)).body).toMatchObject({
        error: "invalid_grant",
        error_codes: [70008],
      });
    });

    it("refuses a redirect URI that is not registered", async () => {
      const response = await fetch(
        `${sandbox.authority}/oauth2/v2.0/authorize?client_id=${sandbox.webApp.clientId}&response_type=code&scope=openid&redirect_uri=https://evil.example/cb`,
      );
      expect(response.status).toBe(400);
      expect(await response.text()).toContain("AADSTS50011");
    });
  });

  describe("admin consent", () => {
    const redirectUri = "http://localhost:3000/api/consent/callback";

    async function decide(path: string, decision: "accept" | "cancel", extra: Record<string, string> = {}) {
      const params = new URLSearchParams({
        client_id: sandbox.app.clientId,
        redirect_uri: redirectUri,
        state: "csrf-1",
        ...extra,
      });
      const page = await fetch(`${sandbox.url}${path}?${params}`);
      expect(await page.text()).toContain("Accept");
      params.set("decision", decision);
      const response = await fetch(`${sandbox.url}${path}`, { method: "POST", body: params, redirect: "manual" });
      expect(response.status).toBe(302);
      return new URL(response.headers.get("location")!);
    }

    it("Accept redirects with admin_consent=True, the tenant and the state (v1 and v2 forms)", async () => {
      sandbox.setConsent(false);
      const location = await decide("/organizations/adminconsent", "accept");
      expect(Object.fromEntries(location.searchParams)).toEqual({
        admin_consent: "True",
        tenant: sandbox.tenantId,
        state: "csrf-1",
      });
      const v2 = await decide(`/${sandbox.tenantId}/v2.0/adminconsent`, "accept", { scope: graphScope(sandbox) });
      expect(v2.searchParams.get("scope")).toBe(graphScope(sandbox));
    });

    it("Cancel redirects with error=access_denied, a description and the state", async () => {
      const location = await decide("/organizations/adminconsent", "cancel");
      expect(location.searchParams.get("error")).toBe("access_denied");
      expect(location.searchParams.get("error_description")).toContain("AADSTS65004");
      expect(location.searchParams.get("state")).toBe("csrf-1");
      expect(location.searchParams.has("admin_consent")).toBe(false);
    });
  });
});
