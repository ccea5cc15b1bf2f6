import { AuthenticationHandler, Client, ResponseType, TelemetryHandler } from "@microsoft/microsoft-graph-client";
import { GraphRequestError, M365AuthError, MailboxUnavailableError, tooLargeMessage } from "./errors";
import { BodyParts } from "./body-parts";
import { nodeHttpHandler } from "./node-http-handler";
import type { M365Settings } from "./settings";
import { tokenGrant, type TokenProvider } from "./token";

export type GraphMethod = "GET" | "POST" | "PATCH" | "PUT" | "DELETE";

/**
 * One Graph call; `path` is relative to the version root (e.g. `/users/{id}`), query values already
 * encoded. `batchable`: the call may travel inside a $batch with others (see batching.ts).
 */
export type GraphRequest = {
  method: GraphMethod;
  path: string;
  headers?: Record<string, string>;
  body?: unknown;
  batchable?: boolean;
};

export type GraphResponse<T = unknown> = { status: number; headers: Headers; body: T };

export type GraphTransport = (request: GraphRequest) => Promise<GraphResponse>;

const GRAPH_HOST = "graph.microsoft.com";

/**
 * Sends Graph requests through the SDK's middleware chain: authentication, telemetry and node:https
 * (nodeHttpHandler; fetch costs far more CPU per request). The SDK's RetryHandler (which would wait
 * out 429/503/504 itself, then give up) is left out on purpose:
 * every status comes back to the caller so the per-mailbox scheduler decides what waits and what fails.
 */
export function createGraphTransport(
  settings: Pick<M365Settings, "graphBaseUrl">,
  tokens: TokenProvider,
): GraphTransport {
  const { baseUrl, version } = splitVersion(settings.graphBaseUrl);
  const hostname = new URL(baseUrl).hostname;
  const authProvider = { getAccessToken: () => tokens.getAccessToken() };
  const authentication = new AuthenticationHandler(authProvider);
  const telemetry = new TelemetryHandler();
  authentication.setNext(telemetry);
  telemetry.setNext(nodeHttpHandler());
  const client = Client.initWithMiddleware({
    baseUrl,
    defaultVersion: version,
    middleware: authentication,
    customHosts: hostname === GRAPH_HOST ? undefined : new Set([hostname]),
  });

  async function send({ method, path, headers, body }: GraphRequest): Promise<GraphResponse & { token: string }> {
    // The SDK would turn a failed token request into an untyped GraphError; asking first (our own
    // cache almost always) keeps M365AuthError and its reason for the caller.
    const token = await tokens.getAccessToken();
    let request = client.api(path).responseType(ResponseType.RAW);
    if (headers) request = request.headers(headers);
    if (body instanceof BodyParts) request = request.middlewareOptions([body]);
    const content = body instanceof BodyParts ? undefined : body;
    const call = {
      GET: () => request.get(),
      DELETE: () => request.delete(),
      POST: () => request.post(content),
      PATCH: () => request.patch(content),
      PUT: () => request.put(content),
    }[method];
    // With ResponseType.RAW the SDK resolves to the fetch Response (typed `any`).
    const response = (await call()) as Response;
    return { status: response.status, headers: response.headers, body: await readBody(response), token };
  }

  return async (request) => {
    const { token, ...response } = await send(request);
    noteMailAccess(request, response, token);
    if (!staleTokenMayExplain(response)) return response;
    // One more try with a token fresh from Entra ID before the answer counts.
    tokens.refresh(token);
    const { token: again, ...retried } = await send(request);
    noteMailAccess(request, retried, again);
    return retried;
  };
}

/**
 * The error bodies of 403 ErrorAccessDenied answers given to a token whose mail access comes from
 * Exchange RBAC for Applications (docs/SETUP.md, option A: User.Read.All from Entra, no Mail.ReadWrite),
 * each with its token's grant key. Such an app reaches only the mailboxes of its role assignment's
 * management scope, and Graph's refusal of another mailbox names neither the scope nor the mailbox
 * ("Access is denied. Check credentials and try again."): without this mark it would read as the app's
 * consent gone tenant-wide. It reads as that mailbox's alone once a mailbox has answered a token of the
 * same tenant and roles in this process (looked up when the error is read, so that an answer arriving
 * meanwhile counts); before that, the role assignment may be missing or not in effect yet, which
 * refuses every mailbox and stops the run as consent missing does, instead of failing every item.
 */
const refusedUnderExchangeRbac = new WeakMap<object, string>();

/** Tenant and roles (`tid|role,role`) of tokens that a mailbox has answered in this process. */
const mailAnsweredGrants = new Set<string>();

/** A call on a mailbox's contents (`/users/{id}/…`), or a `$batch` (which only ever carries those here). */
const MAIL_PATH = /^\/(users\/[^/]+\/.|\$batch$)/i;

/** The last token's grant and key: a token serves many requests, and is decoded once. */
let lastGrant: { token: string; roles: string[]; key: string } | undefined;

function grantOf(token: string): { roles: string[]; key: string } {
  if (lastGrant?.token !== token) {
    const { tenantId, roles } = tokenGrant(token);
    lastGrant = { token, roles, key: `${tenantId ?? ""}|${[...roles].sort().join(",")}` };
  }
  return lastGrant;
}

function noteMailAccess(request: GraphRequest, response: GraphResponse, token: string): void {
  if (!MAIL_PATH.test(request.path)) return;
  // Entries of an unexpected shape are left to the batch's own reader (batching.ts, attachments.ts).
  const inner = (batchAnswers(response) ?? []).filter(
    (answer: BatchAnswer | null): answer is BatchAnswer => typeof answer?.status === "number",
  );
  const answers: Array<{ status: number; body?: unknown }> = [response, ...inner];
  const grant = grantOf(token);
  const answered =
    request.path.toLowerCase() === "/$batch"
      ? inner.some((answer) => isSuccess(answer.status))
      : isSuccess(response.status);
  if (answered) mailAnsweredGrants.add(grant.key);
  if (!grant.roles.includes("User.Read.All") || grant.roles.includes("Mail.ReadWrite")) return;
  for (const answer of answers) {
    if (answer.status !== 403 || typeof answer.body !== "object" || answer.body === null) continue;
    const { code, message } = errorOf(answer);
    if (code === "ErrorAccessDenied" && !ACCESS_POLICY.test(message))
      refusedUnderExchangeRbac.set(answer.body, grant.key);
  }
}

/** One answer inside a `$batch` response, as Graph writes it. */
export type BatchAnswer = { id: string; status: number; headers?: Record<string, string>; body?: unknown };

/** The answers inside a `$batch` response's body, as Graph wrote them; undefined when it holds none. */
export function batchAnswers(response: { body?: unknown }): BatchAnswer[] | undefined {
  const answers = (response.body as { responses?: unknown } | undefined)?.responses;
  return Array.isArray(answers) ? (answers as BatchAnswer[]) : undefined;
}

/** The `error` of a Graph answer's body: its code and message, or "Unknown" and "no error message". */
export function errorOf(response: { body?: unknown }): { code: string; message: string } {
  const error = (response.body as { error?: { code?: string; message?: string } } | undefined)?.error;
  return { code: error?.code ?? "Unknown", message: error?.message ?? "no error message" };
}

/**
 * A 401 (a token revoked or expired early), or a tenant-wide 403: a token keeps the roles it was
 * issued with, so one issued before admin consent took effect is refused although the tenant has
 * consented since. Only a fresh token tells a stale one from missing consent.
 */
export function staleTokenMayExplain(response: GraphResponse): boolean {
  return response.status === 401 || (response.status === 403 && graphError(response) instanceof M365AuthError);
}

async function readBody(response: Response): Promise<unknown> {
  const text = await response.text();
  if (!text) return undefined;
  if (!(response.headers.get("content-type") ?? "").includes("json")) return text;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** `https://graph.microsoft.com` and `https://host/v1.0` both mean the v1.0 endpoint. */
function splitVersion(graphBaseUrl: string): { baseUrl: string; version: string } {
  const [, baseUrl, version] = /^(.*)\/(v1\.0|beta)$/.exec(graphBaseUrl) ?? [];
  return baseUrl !== undefined && version !== undefined
    ? { baseUrl, version }
    : { baseUrl: graphBaseUrl, version: "v1.0" };
}

const ACCESS_DENIED = new Set(["Authorization_RequestDenied", "ErrorAccessDenied"]);
/** Users in the directory without an Exchange Online mailbox: unlicensed, on-premises or guest. */
// Microsoft KB 4462988 gives both REST codes for "REST API is not yet supported for this mailbox".
const NO_MAILBOX = new Set(["MailboxNotEnabledForRESTAPI", "MailboxNotSupportedForRESTAPI", "ErrorInvalidUser"]);
/**
 * A 403 that concerns one mailbox's access, not the app's consent: Microsoft documents "Access to OData
 * is disabled." for a mailbox outside an application access policy (auth-limit-mailbox-access), which
 * tenants also send with "[RAOP] … AccessPolicy settings" added (users report the same words from
 * Exchange's EWS application access policies). Missing consent says "Access is denied".
 */
const ACCESS_POLICY = /Access to OData is disabled|\[RAOP\]|AccessPolicy/i;

/** A directory user's mail calls answer 404: there is no Exchange Online mailbox to write into. */
export function noMailboxError(code: string): MailboxUnavailableError {
  return new MailboxUnavailableError(
    "no-mailbox",
    `This user has no Exchange Online mailbox (unlicensed, on-premises or guest user; Graph 404 ${code})`,
  );
}

/**
 * The typed error for a Graph answer the caller cannot use.
 * - 403 "Access to OData is disabled" (the tenant's app-only access policy), or any 403 access denied to an app whose
 *   mail access comes from RBAC for Applications (see noteMailAccess): that mailbox is
 *   outside the policy's or the role assignment's scope while others work; a MailboxUnavailableError
 *   for that mailbox only.
 * - Any other 403 access denied means the app holds no mail permission in the tenant (Entra issues a
 *   token without roles when consent is missing or revoked): a tenant-wide M365AuthError.
 * - No mailbox (404 MailboxNotEnabledForRESTAPI / MailboxNotSupportedForRESTAPI / ErrorInvalidUser), a full mailbox
 *   (ErrorQuotaExceeded, or 507 QuotaExceededException) or a message over the mailbox's size limit (ErrorMessageSizeExceeded, 413):
 *   MailboxUnavailableError, which fails the item without retrying.
 */
export function graphError(response: GraphResponse): GraphRequestError | M365AuthError | MailboxUnavailableError {
  const { code, message } = errorOf(response);
  const rbacGrant =
    response.status === 403 && typeof response.body === "object" && response.body !== null
      ? refusedUnderExchangeRbac.get(response.body)
      : undefined;
  if (rbacGrant !== undefined && mailAnsweredGrants.has(rbacGrant)) {
    return new MailboxUnavailableError(
      "access-policy",
      "Microsoft 365 refused the app access to this mailbox. The app's mail access comes from Exchange RBAC for " +
        "Applications (its token carries User.Read.All but not Mail.ReadWrite), and this mailbox is outside the " +
        "management scope of its Application Mail.ReadWrite role assignment, or the app has no such assignment. " +
        "Add the mailbox to the scope (Test-ServicePrincipalAuthorization -Identity <app> -Resource <mailbox> " +
        `shows InScope), then use Retry failed items (Graph 403 ${code}: ${message})`,
    );
  }
  if (response.status === 403 && code === "ErrorAccessDenied" && ACCESS_POLICY.test(message)) {
    return new MailboxUnavailableError(
      "access-policy",
      "Microsoft 365 refused the app access to this mailbox: it is outside the scope of the tenant's Exchange " +
        "application access policy (or RBAC for Applications management scope), or Exchange's EWS access policy " +
        "blocks the app for it. Add the mailbox to the policy's scope (the mail-enabled security group named in " +
        "New-ApplicationAccessPolicy -PolicyScopeGroupId, or the role assignment's management scope; " +
        "Test-ApplicationAccessPolicy shows Granted), check Get-CASMailbox's EwsApplicationAccessPolicy for it, " +
        `then use Retry failed items (Graph 403 ${code}: ${message})`,
    );
  }
  if (rbacGrant !== undefined) {
    return new M365AuthError(
      "no-consent",
      "No mailbox lets the app in: its token carries User.Read.All but not Mail.ReadWrite. With Exchange RBAC for " +
        "Applications (setup guide, option A), the Application Mail.ReadWrite role assignment is missing or not in " +
        "effect yet: Exchange takes 30 minutes to 2 hours to apply one; check it with Test-ServicePrincipalAuthorization " +
        "-Identity <app> -Resource <mailbox>, and do not grant Mail.ReadWrite in Entra, which would open every mailbox " +
        "of the organisation to the app. With an application access policy (option B), grant Mail.ReadWrite in Entra " +
        `and give admin consent again (Graph 403 ${code}).`,
      { exchangeRbac: true },
    );
  }
  if (response.status === 403 && ACCESS_DENIED.has(code)) {
    return new M365AuthError(
      "no-consent",
      `The app has no Microsoft Graph permission in this tenant: ask a global administrator to grant admin consent (Graph 403 ${code}).`,
    );
  }
  if (response.status === 404 && NO_MAILBOX.has(code)) return noMailboxError(code);
  if (code === "ErrorQuotaExceeded") {
    return new MailboxUnavailableError(
      "mailbox-full",
      `The mailbox is full (over its storage quota): free space or raise its quota, then use Retry failed items (Graph ${response.status} ${code})`,
    );
  }
  // Graph's errors page: "507 Insufficient Storage: The maximum storage quota has been reached." It has
  // also answered so (QuotaExceededException) to a request adding a named property to a mailbox that was
  // not full, and every item carries one (its key).
  if (code === "QuotaExceededException" || response.status === 507) {
    return new MailboxUnavailableError(
      "mailbox-full",
      "The mailbox is over a quota: its storage quota, or its quota of named properties. Check its size " +
        "(Get-MailboxStatistics) and free space or raise the quota, then use Retry failed items " +
        `(Graph ${response.status} ${code}: ${message.slice(0, 200)})`,
    );
  }
  if (code === "ErrorMessageSizeExceeded" || response.status === 413) {
    return new MailboxUnavailableError(
      "too-large",
      `${tooLargeMessage(undefined, undefined)} (Graph ${response.status} ${code})`,
    );
  }
  return new GraphRequestError(response.status, code, message);
}

export function isSuccess(status: number): boolean {
  return status >= 200 && status < 300;
}

/** Quotes a value as an OData string literal. */
export function odataString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** `$filter=` with the expression encoded for the URL. */
export function filterQuery(expression: string): string {
  return `$filter=${encodeURIComponent(expression)}`;
}
