import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Registration, SandboxContext } from "./context";
import { consentPage, errorPage, formPostPage, signInPage } from "./entra-pages";
import { sendEntraError } from "./entra-errors";
import { isLoopbackUrl, parseForm, readBody, redirect, sendHtml, sendJson, withQuery } from "./http";
import {
  GRAPH_APP_ID,
  TOKEN_LIFETIME_SECONDS,
  issueAppToken,
  issueDelegatedToken,
  issueIdToken,
  verifyClientAssertion,
} from "./tokens";

const FORM_LIMIT = 64 * 1024;
const CODE_LIFETIME_MS = 10 * 60 * 1000;
const GENERIC_TENANTS = new Set(["common", "organizations"]);
const ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const DEFAULT_SUFFIX = "/.default";

/**
 * The app-only scopes our Graph answers to: `<our Graph origin>/.default`, like a national cloud whose
 * .default scope names its own Graph host (learn.microsoft.com/graph/sdks/national-clouds), and
 * Graph's app id form. Another cloud's Graph (https://graph.microsoft.com, graph.microsoft.us, …) is
 * a resource this tenant does not have.
 */
function graphDefaultScopes(ctx: SandboxContext): Set<string> {
  return new Set([`${ctx.origin()}${DEFAULT_SUFFIX}`, `${GRAPH_APP_ID}${DEFAULT_SUFFIX}`]);
}

/** Handles the Entra ID (login.microsoftonline.com) part; returns false when the path is not ours. */
export async function handleEntra(
  ctx: SandboxContext,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<boolean> {
  const segments = url.pathname.split("/").filter(Boolean);
  const [tenant, ...rest] = segments;
  if (!tenant) return false;
  const route = rest.join("/").toLowerCase();
  const method = req.method ?? "GET";

  if (route === "discovery/instance" && method === "GET") return send(() => instanceDiscovery(ctx, res, url));
  if (
    ![
      "v2.0/.well-known/openid-configuration",
      "discovery/v2.0/keys",
      "discovery/keys",
      "oauth2/v2.0/authorize",
      "oauth2/v2.0/token",
      "adminconsent",
      "v2.0/adminconsent",
    ].includes(route)
  ) {
    return false;
  }
  const tenantId = resolveTenant(ctx, tenant);
  if (!tenantId) {
    if (route === "oauth2/v2.0/authorize" || route.endsWith("adminconsent")) {
      sendHtml(res, 400, errorPage(90002, `Tenant '${tenant}' not found.`));
    } else {
      sendEntraError(
        res,
        400,
        "invalid_tenant",
        90002,
        `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`,
      );
    }
    return true;
  }
  switch (route) {
    case "v2.0/.well-known/openid-configuration":
      sendJson(res, 200, openIdConfiguration(ctx, tenant, url.searchParams.get("appid")));
      return true;
    case "discovery/v2.0/keys":
    case "discovery/keys":
      sendJson(res, 200, { keys: signingKeys(ctx, url.searchParams.get("appid")) });
      return true;
    case "oauth2/v2.0/authorize":
      await authorize(ctx, req, res, url, tenant);
      return true;
    case "oauth2/v2.0/token":
      await token(ctx, req, res, tenant, tenantId);
      return true;
    default:
      await adminConsent(ctx, req, res, url, route === "v2.0/adminconsent");
      return true;
  }
}

function send(action: () => void): true {
  action();
  return true;
}

/** Our tenant by id or domain; `common`/`organizations` stand for "the user's tenant" (ours). */
function resolveTenant(ctx: SandboxContext, tenant: string): string | null {
  const value = tenant.toLowerCase();
  const { tenantId, tenantDomain } = ctx.state.options;
  if (value === tenantId || value === tenantDomain.toLowerCase() || GENERIC_TENANTS.has(value)) return tenantId;
  return null;
}

function issuer(ctx: SandboxContext, tenantId: string): string {
  return `${ctx.origin()}/${tenantId}/v2.0`;
}

function instanceDiscovery(ctx: SandboxContext, res: ServerResponse, url: URL): void {
  const host = new URL(ctx.origin()).host;
  const authorization = url.searchParams.get("authorization_endpoint");
  const tenant = authorization ? new URL(authorization).pathname.split("/").filter(Boolean)[0] : "common";
  sendJson(res, 200, {
    tenant_discovery_endpoint: `${ctx.origin()}/${tenant}/v2.0/.well-known/openid-configuration`,
    "api-version": "1.1",
    metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
  });
}

/** The registered app with this client id, if any. */
function registrationOf(ctx: SandboxContext, clientId: string | null): Registration | null {
  return [ctx.app, ctx.webApp].find((registration) => registration.clientId === clientId) ?? null;
}

/**
 * The keys that sign ID tokens. `?appid=<client id>` adds the app's own key when it has one (a
 * claims-mapping policy with a custom signing key): only that JWKS verifies its ID tokens.
 */
function signingKeys(ctx: SandboxContext, appId: string | null): Record<string, unknown>[] {
  const own = registrationOf(ctx, appId)?.signingKey;
  return own ? [ctx.signingKey.jwk, own.jwk] : [ctx.signingKey.jwk];
}

function openIdConfiguration(ctx: SandboxContext, tenant: string, appId: string | null) {
  const base = `${ctx.origin()}/${tenant}`;
  const generic = GENERIC_TENANTS.has(tenant.toLowerCase());
  return {
    token_endpoint: `${base}/oauth2/v2.0/token`,
    token_endpoint_auth_methods_supported: ["client_secret_post", "private_key_jwt", "client_secret_basic"],
    jwks_uri: `${base}/discovery/v2.0/keys${appId ? `?appid=${encodeURIComponent(appId)}` : ""}`,
    response_modes_supported: ["query", "fragment", "form_post"],
    subject_types_supported: ["pairwise"],
    id_token_signing_alg_values_supported: ["RS256"],
    response_types_supported: ["code", "id_token", "code id_token", "id_token token"],
    scopes_supported: ["openid", "profile", "email", "offline_access"],
    issuer: generic ? `${ctx.origin()}/{tenantid}/v2.0` : issuer(ctx, ctx.state.options.tenantId),
    request_uri_parameter_supported: false,
    userinfo_endpoint: `${ctx.origin()}/oidc/userinfo`,
    authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
    device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    end_session_endpoint: `${base}/oauth2/v2.0/logout`,
    claims_supported: [
      "sub",
      "iss",
      "aud",
      "exp",
      "iat",
      "auth_time",
      "acr",
      "nonce",
      "preferred_username",
      "name",
      "tid",
      "ver",
      "at_hash",
      "c_hash",
      "email",
      "roles",
      "oid",
    ],
    tenant_region_scope: "EU",
    cloud_instance_name: "microsoftonline.com",
    cloud_graph_host_name: "graph.windows.net",
    msgraph_host: new URL(ctx.origin()).host,
    rbac_url: "https://pas.windows.net",
  };
}

/**
 * Whether the app registration holds this redirect URI: an exact, case-sensitive match, except that the
 * port of a localhost/127.0.0.1 URI is ignored (learn.microsoft.com/entra/identity-platform/reply-url).
 */
function registeredRedirect(registration: Registration, uri: string | null): uri is string {
  if (!uri) return false;
  const withoutLoopbackPort = (value: string) => {
    if (!isLoopbackUrl(value)) return value;
    const url = new URL(value);
    url.port = "";
    return url.toString();
  };
  return registration.redirectUris.some((registered) => withoutLoopbackPort(registered) === withoutLoopbackPort(uri));
}

/** AADSTS50011, worded as Entra words it (learn.microsoft.com/troubleshoot/azure/active-directory/error-code-aadsts50011-redirect-uri-mismatch). */
function redirectMismatchPage(redirectUri: string | null, clientId: string): string {
  return errorPage(
    50011,
    `The redirect URI '${redirectUri ?? ""}' specified in the request does not match the redirect URIs configured for the application '${clientId}'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal. Navigate to https://aka.ms/redirectUriMismatchError to learn more about how to fix this.`,
  );
}

async function authorize(
  ctx: SandboxContext,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  tenant: string,
): Promise<void> {
  const params = req.method === "POST" ? parseForm(await readBody(req, FORM_LIMIT)) : url.searchParams;
  const clientId = params.get("client_id");
  const redirectUri = params.get("redirect_uri");
  // One registration can do both sign-in and import, or sign-in has a registration of its own.
  const registration = registrationOf(ctx, clientId);
  if (!registration || !clientId) {
    sendHtml(
      res,
      400,
      errorPage(
        700016,
        `Application with identifier '${clientId ?? ""}' was not found in the directory '${ctx.state.options.tenantDomain}'.`,
      ),
    );
    return;
  }
  if (!registeredRedirect(registration, redirectUri)) {
    sendHtml(res, 400, redirectMismatchPage(redirectUri, clientId));
    return;
  }
  const state = params.get("state") ?? undefined;
  const responseMode = params.get("response_mode") ?? "query";
  const fail = (error: string, description: string) =>
    respond(res, redirectUri, responseMode, { error, error_description: description, state });
  if (params.get("response_type") !== "code") {
    return fail("unsupported_response_type", "AADSTS700054: The sandbox supports response_type 'code' only.");
  }
  if (!["query", "form_post"].includes(responseMode)) {
    return fail("invalid_request", `AADSTS900144: response_mode '${responseMode}' is not supported by the sandbox.`);
  }
  const scope = params.get("scope") ?? "";
  if (!scope.split(" ").includes("openid")) {
    return fail(
      "invalid_request",
      "AADSTS900144: The request body must contain the following parameter: 'scope' with 'openid'.",
    );
  }
  const challengeMethod = params.get("code_challenge_method") ?? undefined;
  if (params.get("code_challenge") && challengeMethod && !["S256", "plain"].includes(challengeMethod)) {
    return fail("invalid_request", "AADSTS501491: Invalid code_challenge_method.");
  }

  const user = ctx.signInUsers.find((u) => u.email.toLowerCase() === params.get("login_hint")?.toLowerCase());
  if (req.method !== "POST" || !user) {
    sendHtml(
      res,
      200,
      signInPage(`${ctx.origin()}/${tenant}/oauth2/v2.0/authorize`, params, ctx.webApp.displayName, ctx.signInUsers),
    );
    return;
  }
  const code = randomBytes(32).toString("base64url");
  ctx.state.codes.set(code, {
    clientId,
    redirectUri,
    user,
    nonce: params.get("nonce") ?? undefined,
    scope,
    codeChallenge: params.get("code_challenge") ?? undefined,
    codeChallengeMethod: challengeMethod,
    expiresAt: Date.now() + CODE_LIFETIME_MS,
  });
  respond(res, redirectUri, responseMode, { code, state, session_state: randomBytes(16).toString("hex") });
}

function respond(
  res: ServerResponse,
  redirectUri: string,
  responseMode: string,
  fields: Record<string, string | undefined>,
): void {
  if (responseMode === "form_post") {
    const defined = Object.fromEntries(Object.entries(fields).filter((e): e is [string, string] => e[1] !== undefined));
    sendHtml(
      res,
      200,
      formPostPage(redirectUri, defined),
      "default-src 'none'; script-src 'unsafe-inline'; form-action *",
    );
    return;
  }
  redirect(res, withQuery(redirectUri, fields));
}

type ClientAuth = {
  clientId: string | null;
  secret: string | null;
  assertion: string | null;
  assertionType: string | null;
};

function clientAuthentication(req: IncomingMessage, form: URLSearchParams): ClientAuth {
  const header = req.headers.authorization;
  if (header?.toLowerCase().startsWith("basic ")) {
    const decoded = Buffer.from(header.slice(6), "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    return {
      clientId: decodeURIComponent(decoded.slice(0, colon)),
      secret: decodeURIComponent(decoded.slice(colon + 1)),
      assertion: null,
      assertionType: null,
    };
  }
  return {
    clientId: form.get("client_id"),
    secret: form.get("client_secret"),
    assertion: form.get("client_assertion"),
    assertionType: form.get("client_assertion_type"),
  };
}

function sameSecret(sent: string, expected: string): boolean {
  const a = createHash("sha256").update(sent).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}

async function token(
  ctx: SandboxContext,
  req: IncomingMessage,
  res: ServerResponse,
  tenant: string,
  tenantId: string,
): Promise<void> {
  const correlationId = String(req.headers["client-request-id"] ?? "") || undefined;
  const fail = (status: number, error: string, aadsts: number, description: string) =>
    sendEntraError(res, status, error, aadsts, description, correlationId);
  if (req.method !== "POST") return fail(405, "invalid_request", 900561, "The endpoint only accepts POST requests.");
  const form = parseForm(await readBody(req, FORM_LIMIT));
  const auth = clientAuthentication(req, form);
  const registration = registrationOf(ctx, auth.clientId);
  if (!registration) {
    return fail(
      400,
      "unauthorized_client",
      700016,
      `Application with identifier '${auth.clientId ?? ""}' was not found in the directory '${ctx.state.options.tenantDomain}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.`,
    );
  }

  if (auth.assertion) {
    if (auth.assertionType !== ASSERTION_TYPE) {
      return fail(400, "invalid_request", 50027, `client_assertion_type must be '${ASSERTION_TYPE}'.`);
    }
    if (!registration.certificate) {
      return fail(
        401,
        "invalid_client",
        700027,
        "The certificate with identifier used to sign the client assertion is not registered on application.",
      );
    }
    const check = await verifyClientAssertion(
      auth.assertion,
      registration.certificate.certificatePem,
      registration.clientId,
      (aud) => isOurTokenEndpoint(ctx, aud),
    );
    if (!check.ok) return fail(401, "invalid_client", check.aadsts, check.message);
  } else if (auth.secret) {
    if (!sameSecret(auth.secret, registration.clientSecret)) {
      return fail(
        401,
        "invalid_client",
        7000215,
        `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${registration.clientId}'.`,
      );
    }
  } else {
    return fail(
      401,
      "invalid_client",
      7000218,
      "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
    );
  }

  const grantType = form.get("grant_type");
  if (grantType === "client_credentials") {
    if (GENERIC_TENANTS.has(tenant.toLowerCase())) {
      return fail(
        400,
        "invalid_request",
        90027,
        `The client credentials flow needs a tenant-specific authority, not '${tenant}'.`,
      );
    }
    const scope = form.get("scope") ?? "";
    if (!graphDefaultScopes(ctx).has(scope) && scope.endsWith(DEFAULT_SUFFIX) && !scope.includes(" ")) {
      // What Entra answers for a resource with no service principal in the tenant, e.g. the .default
      // scope of another cloud's Graph (learn.microsoft.com/entra/identity-platform/reference-error-codes).
      const resource = scope.slice(0, -DEFAULT_SUFFIX.length);
      return fail(
        400,
        "invalid_resource",
        500011,
        `The resource principal named ${resource} was not found in the tenant named ${ctx.state.options.tenantDomain}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.`,
      );
    }
    if (!graphDefaultScopes(ctx).has(scope)) {
      return fail(
        400,
        "invalid_scope",
        1002012,
        `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
      );
    }
    // The roles come from the consent as it stands now, delay included, and stay in the token for its lifetime.
    const consented = ctx.state.consentEffective(tenantId);
    const lifetime = ctx.state.options.tokenLifetimeSeconds;
    const accessToken = await issueAppToken(
      ctx.signingKey,
      { appId: registration.clientId, tenantId, roles: consented ? ctx.state.options.appRoles : [] },
      lifetime,
    );
    ctx.state.stats.tokensIssued += 1;
    sendJson(res, 200, {
      token_type: "Bearer",
      expires_in: lifetime,
      ext_expires_in: lifetime,
      access_token: accessToken,
    });
    return;
  }
  if (grantType === "authorization_code") {
    const code = ctx.state.codes.get(form.get("code") ?? "");
    ctx.state.codes.delete(form.get("code") ?? "");
    if (!code || code.expiresAt < Date.now() || code.clientId !== registration.clientId) {
      return fail(
        400,
        "invalid_grant",
        70008,
        "The provided authorization code or refresh token has expired due to inactivity, was already redeemed or is not valid.",
      );
    }
    if (form.get("redirect_uri") !== code.redirectUri) {
      return fail(
        400,
        "invalid_grant",
        500117,
        "The reply uri specified in the request does not match the reply uri used in the authorization request.",
      );
    }
    if (
      code.codeChallenge &&
      !pkceMatches(code.codeChallenge, code.codeChallengeMethod ?? "plain", form.get("code_verifier"))
    ) {
      return fail(
        400,
        "invalid_grant",
        501481,
        "The Code_Verifier does not match the code_challenge supplied in the authorization request.",
      );
    }
    const graphScope = "openid profile email User.Read";
    const [idToken, accessToken] = await Promise.all([
      issueIdToken(registration.signingKey ?? ctx.signingKey, {
        issuer: issuer(ctx, tenantId),
        clientId: registration.clientId,
        tenantId,
        user: code.user,
        nonce: code.nonce,
      }),
      issueDelegatedToken(ctx.signingKey, {
        clientId: registration.clientId,
        tenantId,
        email: code.user.email,
        scope: graphScope,
      }),
    ]);
    ctx.state.stats.tokensIssued += 1;
    sendJson(res, 200, {
      token_type: "Bearer",
      scope: graphScope,
      expires_in: TOKEN_LIFETIME_SECONDS,
      ext_expires_in: TOKEN_LIFETIME_SECONDS,
      access_token: accessToken,
      id_token: idToken,
    });
    return;
  }
  fail(400, "unsupported_grant_type", 70003, `The app requested an unsupported grant type '${grantType ?? ""}'.`);
}

function pkceMatches(challenge: string, method: string, verifier: string | null): boolean {
  if (!verifier) return false;
  const computed = method === "S256" ? createHash("sha256").update(verifier).digest("base64url") : verifier;
  return computed === challenge;
}

function isOurTokenEndpoint(ctx: SandboxContext, aud: string): boolean {
  try {
    const url = new URL(aud);
    const [tenant, ...rest] = url.pathname.split("/").filter(Boolean);
    const path = rest.join("/").toLowerCase();
    return (
      url.origin === ctx.origin() &&
      !!tenant &&
      !!resolveTenant(ctx, tenant) &&
      (path === "oauth2/v2.0/token" || path === "oauth2/token")
    );
  } catch {
    return false;
  }
}

async function adminConsent(
  ctx: SandboxContext,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  v2: boolean,
): Promise<void> {
  const params = req.method === "POST" ? parseForm(await readBody(req, FORM_LIMIT)) : url.searchParams;
  const clientId = params.get("client_id");
  const redirectUri = params.get("redirect_uri");
  const registration = registrationOf(ctx, clientId);
  if (!registration) {
    sendHtml(
      res,
      400,
      errorPage(700016, `Application with identifier '${clientId ?? ""}' was not found in the directory.`),
    );
    return;
  }
  if (!registeredRedirect(registration, redirectUri)) {
    sendHtml(res, 400, redirectMismatchPage(redirectUri, registration.clientId));
    return;
  }
  const scope = params.get("scope");
  if (v2 && !scope) {
    sendHtml(res, 400, errorPage(900144, "The request body must contain the following parameter: 'scope'."));
    return;
  }
  const state = params.get("state") ?? undefined;
  const decision = req.method === "POST" ? params.get("decision") : null;
  if (decision === "accept") {
    ctx.state.setConsent(ctx.state.options.tenantId, true);
    redirect(
      res,
      withQuery(redirectUri, {
        admin_consent: "True",
        tenant: ctx.state.options.tenantId,
        state,
        ...(v2 ? { scope: scope ?? undefined } : {}),
      }),
    );
    return;
  }
  if (decision === "cancel") {
    redirect(
      res,
      withQuery(redirectUri, {
        error: "access_denied",
        error_subcode: "cancel",
        state,
        error_description: "AADSTS65004: User declined to consent to access the app.",
      }),
    );
    return;
  }
  const shown = new URLSearchParams(params);
  shown.delete("decision");
  const permissions = [
    "Read and write mail in all mailboxes (Mail.ReadWrite, application)",
    "Read all users' full profiles (User.Read.All, application)",
  ];
  sendHtml(res, 200, consentPage(url.pathname, shown, registration.displayName, permissions));
}
