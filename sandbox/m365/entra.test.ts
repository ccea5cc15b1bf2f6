import { createHash, randomBytes } from "node:crypto";
import { ConfidentialClientApplication } from "@azure/msal-node";
import { createPrivateKey, randomUUID } from "node:crypto";
import { SignJWT, createRemoteJWKSet, decodeJwt, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { M365Sandbox } from "./index";
import { parseOptions } from "./options";
import { TEST_REDIRECT_URIS, graphScope, msalWithSecret, skipWithoutCa, startTestSandbox } from "./test-support";

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
    const redirectUri = TEST_REDIRECT_URIS.signIn;

    async function signIn(email: string, extra: Record<string, string> = {}, at: M365Sandbox = sandbox) {
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
      const page = await fetch(`${at.authority}/oauth2/v2.0/authorize?${params}`);
      const html = await page.text();
      expect(html).toContain(email);
      params.set("login_hint", email);
      const chosen = await fetch(`${at.authority}/oauth2/v2.0/authorize`, {
        method: "POST",
        body: params,
        redirect: "manual",
      });
      return { chosen, verifier };
    }

    /** Redeems a code as the sign-in app with its secret (client_secret_basic), or with the given client credentials. */
    async function redeem(code: string, verifier: string, credentials?: Record<string, string>, at = sandbox) {
      const response = await fetch(`${at.authority}/oauth2/v2.0/token`, {
        method: "POST",
        headers: credentials
          ? {}
          : {
              Authorization: `Basic ${Buffer.from(`${at.webApp.clientId}:${at.webApp.clientSecret}`).toString("base64")}`,
            },
        body: new URLSearchParams({
          grant_type: "authorization_code",
          code,
          redirect_uri: redirectUri,
          code_verifier: verifier,
          ...credentials,
        }),
      });
      return { status: response.status, body: (await response.json()) as { id_token?: string } };
    }

    const codeOf = (response: Response) => new URL(response.headers.get("location")!).searchParams.get("code")!;

    it("seeds an admin, a reader and a member with no app role, whose ID tokens' roles claim says so", async () => {
      expect(sandbox.signInUsers.map((u) => u.roles)).toEqual([["Connector.Admin"], ["Connector.Reader"], []]);
      const jwks = createRemoteJWKSet(new URL(`${sandbox.authority}/discovery/v2.0/keys`));
      for (const user of sandbox.signInUsers) {
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
        // Entra leaves the claim out for a user with no role assigned.
        expect(payload.roles).toEqual(user.roles.length > 0 ? user.roles : undefined);
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

    it("refuses a redirect URI the app does not hold, on loopback too (AADSTS50011); only a localhost port may differ", async () => {
      const authorize = (clientId: string, uri: string) =>
        fetch(
          `${sandbox.authority}/oauth2/v2.0/authorize?${new URLSearchParams({ client_id: clientId, response_type: "code", scope: "openid", redirect_uri: uri })}`,
        );
      for (const [clientId, uri] of [
        [sandbox.webApp.clientId, "https://evil.example/cb"],
        [sandbox.webApp.clientId, "http://localhost:3000/api/auth/callback/azure-ad"],
        [sandbox.webApp.clientId, "http://localhost:3000/API/auth/callback/entra"],
        [sandbox.webApp.clientId, TEST_REDIRECT_URIS.consent],
        [sandbox.app.clientId, "http://127.0.0.1:3000/api/auth/callback/entra"],
      ] as const) {
        const response = await authorize(clientId, uri);
        expect(response.status, uri).toBe(400);
        const html = await response.text();
        expect(html, uri).toContain("AADSTS50011");
        expect(html, uri).toContain(
          `does not match the redirect URIs configured for the application &#39;${clientId}&#39;`,
        );
      }
      // The port of a localhost redirect URI is ignored (reply-url: "Localhost exceptions").
      const otherPort = await authorize(sandbox.webApp.clientId, "http://localhost:4999/api/auth/callback/entra");
      expect(otherPort.status).toBe(200);
    });

    it("cannot register an http redirect URI but for localhost and 127.0.0.1 (reply-url: Supported schemes)", () => {
      for (const uri of [
        "http://archive.bank.example/api/auth/callback/entra",
        "http://[::1]:3000/api/auth/callback/entra",
      ]) {
        expect(() => parseOptions({ app: { redirectUris: [uri] } }), uri).toThrow(/https, or http for localhost/);
      }
      for (const uri of [
        "https://archive.bank.example/api/auth/callback/entra",
        "http://127.0.0.1:3000/api/auth/callback/entra",
      ]) {
        expect(() => parseOptions({ app: { redirectUris: [uri] } }), uri).not.toThrow();
      }
    });

    it("signs in to the import app with a certificate assertion (private_key_jwt, x5t#S256 header, token endpoint audience)", async () => {
      const assertion = (header: Record<string, string>, audience = `${sandbox.authority}/oauth2/v2.0/token`) =>
        new SignJWT({ jti: randomUUID() })
          .setProtectedHeader({ alg: "PS256", typ: "JWT", ...header })
          .setIssuer(sandbox.app.clientId)
          .setSubject(sandbox.app.clientId)
          .setAudience(audience)
          .setIssuedAt()
          .setNotBefore("0s")
          .setExpirationTime("10m")
          .sign(createPrivateKey(sandbox.app.privateKeyPem));
      const credentials = async (header: Record<string, string>, audience?: string) => ({
        client_id: sandbox.app.clientId,
        client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        client_assertion: await assertion(header, audience),
      });
      const x5tS256 = Buffer.from(sandbox.app.thumbprintSha256, "hex").toString("base64url");
      const admin = sandbox.signInUsers[0]!;

      // A kid alone does not name the certificate (openid-client's own private_key_jwt header), nor does
      // the issuer as audience: Entra reads x5t / x5t#S256 and wants its token endpoint.
      for (const [header, audience, code] of [
        [{ kid: x5tS256 }, undefined, 700027],
        [{ "x5t#S256": x5tS256 }, `${sandbox.url}/${sandbox.tenantId}/v2.0`, 700212],
      ] as const) {
        const refused = await signIn(admin.email, { client_id: sandbox.app.clientId });
        const answer = await redeem(codeOf(refused.chosen), refused.verifier, await credentials(header, audience));
        expect(answer.status).toBe(401);
        expect(answer.body).toMatchObject({ error: "invalid_client", error_codes: [code] });
      }

      const { chosen, verifier } = await signIn(admin.email, { client_id: sandbox.app.clientId });
      expect(chosen.status).toBe(302);
      const { status, body } = await redeem(codeOf(chosen), verifier, await credentials({ "x5t#S256": x5tS256 }));
      expect(status).toBe(200);
      expect(decodeJwt(body.id_token!)).toMatchObject({ aud: sandbox.app.clientId, roles: ["Connector.Admin"] });

      // The sign-in app has no certificate registered.
      const other = await signIn(admin.email);
      const refused = await redeem(codeOf(other.chosen), other.verifier, {
        ...(await credentials({ "x5t#S256": x5tS256 })),
        client_id: sandbox.webApp.clientId,
      });
      expect(refused.body).toMatchObject({ error: "invalid_client", error_codes: [700027] });
    });

    it("names the app's own keys in discovery with ?appid=; an app with a custom signing key needs them", async () => {
      const custom = await startTestSandbox({ webApp: { redirectUris: [redirectUri], customSigningKey: true } });
      try {
        const discover = async (query: string) =>
          (
            (await (await fetch(`${custom.authority}/v2.0/.well-known/openid-configuration${query}`)).json()) as {
              jwks_uri: string;
            }
          ).jwks_uri;
        expect(await discover("")).toBe(`${custom.authority}/discovery/v2.0/keys`);
        const appKeys = await discover(`?appid=${custom.webApp.clientId}`);
        expect(appKeys).toBe(`${custom.authority}/discovery/v2.0/keys?appid=${custom.webApp.clientId}`);

        const { chosen, verifier } = await signIn(custom.signInUsers[1]!.email, {}, custom);
        const { body } = await redeem(codeOf(chosen), verifier, undefined, custom);
        const options = { issuer: `${custom.authority}/v2.0`, audience: custom.webApp.clientId };
        await expect(
          jwtVerify(body.id_token!, createRemoteJWKSet(new URL(`${custom.authority}/discovery/v2.0/keys`)), options),
        ).rejects.toThrow(/no applicable key/i);
        const { payload } = await jwtVerify(body.id_token!, createRemoteJWKSet(new URL(appKeys)), options);
        expect(payload.roles).toEqual(["Connector.Reader"]);
      } finally {
        await custom.close();
      }
    });
  });

  describe("admin consent", () => {
    const redirectUri = TEST_REDIRECT_URIS.consent;

    it("refuses a redirect URI the app does not hold (AADSTS50011)", async () => {
      const params = new URLSearchParams({
        client_id: sandbox.app.clientId,
        redirect_uri: "http://localhost:3000/api/consent/elsewhere",
        state: "csrf-1",
      });
      const response = await fetch(`${sandbox.url}/organizations/adminconsent?${params}`);
      expect(response.status).toBe(400);
      expect(await response.text()).toContain("AADSTS50011");
    });

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
