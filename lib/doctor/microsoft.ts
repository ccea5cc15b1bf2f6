// Microsoft 365: an app-only token from Entra ID for the configured cloud, the permissions it carries,
// the consent connectors recorded, one mailbox and its Inbox/Symphony folder, and the clock.
import {
  createGraphTransport,
  createScheduler,
  createTokenProvider,
  findOrCreateSymphonyFolder,
  graphScope,
  GraphRequestError,
  GraphRetriesExhaustedError,
  lookUpMailbox,
  M365AuthError,
  MAILBOX_NOT_FOUND,
  mailboxRefusal,
  MailboxUnavailableError,
  parseM365Settings,
  sendOk,
  SYMPHONY_FOLDER_NAME,
  tokenGrant,
  type GraphContext,
  type GraphTransport,
  type M365Settings,
  type M365SettingsInput,
} from "@/lib/m365";
import { clockOffsetMs, clockOutcome, type ClockSample } from "./clock";
import { guarded, skipped } from "./guard";
import type { CheckResult, Outcome } from "./types";

/** The import app registration, or why the configuration does not give one (a variable missing, a file unreadable). */
export type AppRegistration = Omit<M365SettingsInput, "tenantId">;

export type MicrosoftSettings = {
  /** M365_CLOUD */
  cloud: string;
  /** ENTRA_TENANT_ID */
  tenantId: string | undefined;
  app: AppRegistration | { error: string };
  /** DOCTOR_PROBE_MAILBOX */
  probeMailbox: string | undefined;
};

/** What the connectors in the database say about consent and mailboxes. */
export type ConnectorFacts = {
  consents: {
    name: string;
    status: string;
    tenantId: string | null;
    consentGrantedBy: string | null;
    consentGrantedAt: Date | null;
  }[];
  /** Mailboxes the connectors write to (fallback mailboxes, then mapped ones), to probe one of them. */
  mailboxes: string[];
};

export const REQUIRED_ROLES = ["Mail.ReadWrite", "User.Read.All"] as const;

const CHECKS = {
  token: { id: "m365.token", title: "Entra ID token" },
  roles: { id: "m365.roles", title: "Permissions in the token" },
  consent: { id: "m365.consent", title: "Admin consent" },
  mailbox: { id: "m365.mailbox", title: "Mailbox probe" },
  folder: { id: "m365.folder", title: `Inbox/${SYMPHONY_FOLDER_NAME} folder` },
  clock: { id: "m365.clock", title: "Clock (Microsoft 365)" },
} as const;

const PROPAGATION =
  "Right after consent, Entra ID can take a few minutes before tokens carry the permissions: run the checks again then.";
const CONSENT_FIX =
  "A global administrator grants admin consent: the connector wizard's step 5 (Admin consent), or Grant admin " +
  `consent on the app registration's API permissions page. ${PROPAGATION}`;

/**
 * The Microsoft 365 checks, in order. `connectors` is undefined when the database cannot be read.
 * Each check that needs an earlier one's result is skipped, with why, when that one failed.
 */
export async function microsoftChecks(
  settings: MicrosoftSettings,
  connectors: ConnectorFacts | undefined,
): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const tenant = tenantOf(settings, connectors);
  let session: { token: string; settings: M365Settings; ctx: GraphContext; clock: ClockSample[] } | undefined;

  const tokenTitle = `${CHECKS.token.title} (${cloudLabel(settings.cloud)})`;
  results.push(
    await guarded(CHECKS.token.id, tokenTitle, async () => {
      if ("error" in settings.app) {
        return {
          status: "fail",
          detail: settings.app.error,
          fix: "Set the app registration's variables (docs/SETUP.md, section 1).",
        };
      }
      if (!tenant.id)
        return {
          status: "fail",
          detail: tenant.why,
          fix: "Set ENTRA_TENANT_ID (the Directory (tenant) ID on the app registration's Overview page).",
        };
      let parsed: M365Settings;
      try {
        parsed = parseM365Settings({ ...settings.app, tenantId: tenant.id });
      } catch (error) {
        return {
          status: "fail",
          detail: error instanceof Error ? error.message : "The Microsoft 365 settings are invalid.",
        };
      }
      const tokens = createTokenProvider(parsed);
      try {
        const token = await tokens.getAccessToken();
        const clock: ClockSample[] = [];
        const ctx: GraphContext = {
          graph: recordingClock(createGraphTransport(parsed, tokens), clock),
          scheduler: createScheduler({ maxAttempts: 2 }),
        };
        session = { token, settings: parsed, ctx, clock };
      } catch (error) {
        if (!(error instanceof M365AuthError)) throw error;
        // msal reports a tenant Entra does not know as endpoints it could not resolve: ask Entra ourselves.
        const known = error.reason === "unreachable" ? await authorityAnswer(parsed) : undefined;
        return { status: "fail", ...explainTokenError(error, parsed, known) };
      }
      return {
        status: "ok",
        detail:
          `Entra ID at ${parsed.authorityHost} issued an app-only token to app ${parsed.clientId} in tenant ${tenant.id}, ` +
          `signed in with its ${parsed.certificate ? "certificate" : "client secret"}, for ${graphScope(parsed.graphBaseUrl)}.`,
      };
    }),
  );

  const noToken = "No token: see the Entra ID token check.";
  results.push(
    session
      ? await guarded(CHECKS.roles.id, CHECKS.roles.title, () =>
          Promise.resolve(rolesOutcome(tokenGrant(session!.token).roles, tenant.id!)),
        )
      : skipped(CHECKS.roles.id, CHECKS.roles.title, noToken),
  );
  results.push(
    await guarded(CHECKS.consent.id, CHECKS.consent.title, () =>
      Promise.resolve(consentOutcome(connectors, tenant.id, session && tokenGrant(session.token).roles)),
    ),
  );

  let probed: { address: string; userId: string } | undefined;
  results.push(
    session
      ? await guarded(CHECKS.mailbox.id, CHECKS.mailbox.title, async () => {
          const found = await probeMailbox(session!.ctx, settings.probeMailbox, connectors);
          if (found.ok) probed = found.mailbox;
          return found.outcome;
        })
      : skipped(CHECKS.mailbox.id, CHECKS.mailbox.title, noToken),
  );
  results.push(
    session && probed
      ? await guarded(CHECKS.folder.id, CHECKS.folder.title, async () => createFolder(session!.ctx, probed!))
      : skipped(
          CHECKS.folder.id,
          CHECKS.folder.title,
          session ? "No mailbox to try it in: see the mailbox probe." : noToken,
        ),
  );
  const offset = session && clockOffsetMs(session.clock);
  results.push(
    offset === undefined || offset === null
      ? skipped(CHECKS.clock.id, CHECKS.clock.title, "Microsoft Graph did not answer, so its time is not known.")
      : { ...CHECKS.clock, ...clockOutcome("Microsoft Graph", offset) },
  );
  return results;
}

function cloudLabel(cloud: string): string {
  const labels: Record<string, string> = {
    worldwide: "worldwide cloud",
    "usgov-l4": "US Government L4 (GCC High)",
    "usgov-l5": "US Government L5 (DoD)",
    china: "China (21Vianet)",
  };
  return labels[cloud] ?? cloud;
}

/** ENTRA_TENANT_ID, else the one tenant the connectors consented in. */
function tenantOf(settings: MicrosoftSettings, connectors: ConnectorFacts | undefined): { id?: string; why: string } {
  if (settings.tenantId) return { id: settings.tenantId, why: "" };
  const consented = new Set(
    (connectors?.consents ?? []).flatMap((c) => (c.tenantId && c.consentGrantedAt ? [c.tenantId] : [])),
  );
  if (consented.size === 1) return { id: [...consented][0], why: "" };
  return {
    why:
      consented.size > 1
        ? "ENTRA_TENANT_ID is not set and the connectors consented in different tenants."
        : "ENTRA_TENANT_ID is not set and no connector has recorded consent in a tenant yet.",
  };
}

/** A transport that notes the Date header of every Graph answer. */
function recordingClock(transport: GraphTransport, samples: ClockSample[]): GraphTransport {
  return async (request) => {
    const response = await transport(request);
    samples.push({ date: response.headers.get("date"), receivedAt: Date.now() });
    return response;
  };
}

function aadsts(message: string): string | undefined {
  return /AADSTS(\d+)/.exec(message)?.[1];
}

/** What the tenant's OpenID configuration URL answers: an AADSTS code, or why it could not be reached. */
type AuthorityAnswer = { aadsts?: string; unreachable?: string };

async function authorityAnswer(settings: M365Settings): Promise<AuthorityAnswer> {
  const url = `${settings.authorityHost}/${encodeURIComponent(settings.tenantId)}/v2.0/.well-known/openid-configuration`;
  try {
    const response = await fetch(url, { redirect: "manual", signal: AbortSignal.timeout(10_000) });
    const body = (await response.json().catch(() => ({}))) as { error_codes?: unknown };
    const codes = Array.isArray(body.error_codes) ? body.error_codes : [];
    return response.ok ? {} : { aadsts: codes.length > 0 ? String(codes[0]) : undefined };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? "";
    const causes: Record<string, string> = {
      ENOTFOUND: "its host name is not found",
      EAI_AGAIN: "its host name could not be looked up",
      ECONNREFUSED: "nothing accepts connections there",
      ECONNRESET: "the connection was reset",
      UND_ERR_CONNECT_TIMEOUT: "the connection timed out",
      SELF_SIGNED_CERT_IN_CHAIN: "its TLS certificate is not trusted",
      UNABLE_TO_VERIFY_LEAF_SIGNATURE: "its TLS certificate is not trusted",
      DEPTH_ZERO_SELF_SIGNED_CERT: "its TLS certificate is not trusted",
      CERT_HAS_EXPIRED: "its TLS certificate has expired",
    };
    return {
      unreachable:
        causes[cause] ??
        (error instanceof Error && error.name === "TimeoutError"
          ? "no answer within 10 seconds"
          : "the connection failed"),
    };
  }
}

/** Our own words for each refusal; Entra's description stays in lib/m365's error (and the server log). */
function explainTokenError(
  error: M365AuthError,
  settings: M365Settings,
  authority?: AuthorityAnswer,
): Omit<Outcome, "status"> {
  if (authority?.aadsts === "90002") {
    return explainTokenError(new M365AuthError("unknown-tenant", "AADSTS90002"), settings);
  }
  const code = aadsts(error.message) ?? authority?.aadsts;
  const ref = code ? ` (AADSTS${code})` : "";
  const authorityUrl = settings.authorityHost;
  const credential = settings.certificate ? "certificate" : "client secret";
  const secretFix =
    "Copy the secret's Value (not its Secret ID) from App registrations > the app > Certificates & secrets into " +
    "ENTRA_CLIENT_SECRET, or add a new secret there if the value is lost.";
  const certificateFix =
    "Upload the certificate of ENTRA_CLIENT_CERTIFICATE_PATH to App registrations > the app > Certificates & " +
    "secrets, and check that ENTRA_CLIENT_KEY_PATH is its private key.";
  if (code === "500011") {
    return {
      detail: `Entra ID has no Microsoft Graph at ${new URL(settings.graphBaseUrl).origin} in tenant ${settings.tenantId}${ref}: the Graph endpoint belongs to another cloud than the tenant's.`,
      fix: "Set M365_CLOUD to the tenant's cloud (worldwide, usgov-l4, usgov-l5 or china) and leave GRAPH_BASE_URL and ENTRA_AUTHORITY_HOST unset unless you must override them.",
    };
  }
  if (code === "7000222") {
    return { detail: `Entra ID says the client secret has expired${ref}.`, fix: secretFix };
  }
  if (code === "700024") {
    return {
      detail: `Entra ID says the certificate's sign-in assertion is not within its valid time${ref}: this server's clock is probably wrong.`,
      fix: "Synchronise this server's clock (NTP).",
    };
  }
  if (code === "700016") {
    return {
      detail: `Entra ID does not know app ${settings.clientId} in tenant ${settings.tenantId}${ref}.`,
      fix: "Check ENTRA_CLIENT_ID (the Application (client) ID) and ENTRA_TENANT_ID (the Directory (tenant) ID), both on the app registration's Overview page.",
    };
  }
  switch (error.reason) {
    case "invalid-credentials":
      return {
        detail: `Entra ID refused the app's ${credential}${ref}.`,
        fix: settings.certificate ? certificateFix : secretFix,
      };
    case "unknown-tenant":
      return {
        detail: `Entra ID at ${authorityUrl} does not know tenant ${settings.tenantId}${ref}.`,
        fix: "Set ENTRA_TENANT_ID to the Directory (tenant) ID on the app registration's Overview page, and M365_CLOUD to the cloud the tenant is in.",
      };
    case "no-consent":
      return {
        detail: `Entra ID says the app is not consented in tenant ${settings.tenantId}${ref}.`,
        fix: CONSENT_FIX,
      };
    case "unreachable":
      return {
        detail: authority?.unreachable
          ? `Entra ID at ${authorityUrl} cannot be reached: ${authority.unreachable}.`
          : `Entra ID at ${authorityUrl} did not answer as Entra ID for tenant ${settings.tenantId}${ref}.`,
        fix: `Check that this server reaches ${new URL(authorityUrl).host} over HTTPS (firewall, proxy), that M365_CLOUD names the tenant's cloud, and ENTRA_TENANT_ID.`,
      };
    default:
      return {
        detail: `Entra ID refused the token request${ref}.`,
        fix: "Look up the AADSTS code in Microsoft's error reference (learn.microsoft.com/entra/identity-platform/reference-error-codes); the server log has Entra ID's message.",
      };
  }
}

function rolesOutcome(roles: string[], tenantId: string): Outcome {
  const missing = REQUIRED_ROLES.filter((role) => !roles.includes(role));
  const has = roles.length > 0 ? `it has ${roles.join(", ")}` : "it has none";
  if (missing.length === 0) {
    return { status: "ok", detail: `The token carries the application permissions ${REQUIRED_ROLES.join(" and ")}.` };
  }
  if (roles.length === 0) {
    return {
      status: "fail",
      detail:
        `The token carries no application permission (its roles claim is empty): admin consent has not been ` +
        `granted for this app in tenant ${tenantId}, or was granted minutes ago and is still propagating.`,
      fix: CONSENT_FIX,
    };
  }
  if (missing.includes("User.Read.All")) {
    return {
      status: "fail",
      detail: `The token lacks User.Read.All (${has}); finding each person's mailbox in the directory needs it. Consent may still be propagating.`,
      fix: `Add the Microsoft Graph application permission User.Read.All to the app registration, then grant admin consent again. ${PROPAGATION}`,
    };
  }
  return {
    status: "warn",
    detail:
      `The token lacks Mail.ReadWrite (${has}). That is expected when mail access is granted through Exchange ` +
      `RBAC for Applications (docs/SETUP.md, section 2, option A); otherwise consent may still be propagating. ` +
      `The mailbox and folder checks show whether mail access works.`,
    fix: "Without RBAC for Applications: add the Microsoft Graph application permission Mail.ReadWrite and grant admin consent again.",
  };
}

function consentOutcome(
  connectors: ConnectorFacts | undefined,
  tenantId: string | undefined,
  roles: string[] | undefined,
): Outcome {
  if (!connectors)
    return { status: "skipped", detail: "The database could not be read, so the connectors' consent is not known." };
  const set = connectors.consents.filter((c) => c.status !== "DRAFT");
  if (set.length === 0) {
    return {
      status: "skipped",
      detail: "No connector has been set up yet; the wizard's Admin consent step records consent for each.",
    };
  }
  const missing = set.filter((c) => !c.consentGrantedAt || !c.tenantId);
  if (missing.length > 0) {
    return {
      status: "fail",
      detail: `No admin consent is recorded for ${names(missing)}: imports cannot run.`,
      fix: "Open the connector's wizard (Edit) and complete step 5, Admin consent.",
    };
  }
  const elsewhere = tenantId ? set.filter((c) => c.tenantId?.toLowerCase() !== tenantId.toLowerCase()) : [];
  if (elsewhere.length > 0) {
    return {
      status: "fail",
      detail: `${names(elsewhere)} recorded consent in another tenant than ENTRA_TENANT_ID (${tenantId}).`,
      fix: "Check ENTRA_TENANT_ID, or give consent again in the connector's wizard (step 5) as an administrator of the right tenant.",
    };
  }
  const recorded = set
    .map(
      (c) =>
        `${quote(c.name)} by ${c.consentGrantedBy ?? "an administrator"} on ${c.consentGrantedAt!.toISOString().slice(0, 10)}`,
    )
    .join("; ");
  if (roles && roles.length === 0) {
    return {
      status: "fail",
      detail: `Consent is recorded (${recorded}), but Entra ID now issues tokens without permissions: the consent was revoked or the app's permissions changed.`,
      fix: `Give consent again in the connector's wizard (step 5). ${CONSENT_FIX}`,
    };
  }
  return { status: "ok", detail: `Recorded for ${recorded}.` };
}

const quote = (name: string) => `"${name}"`;
const names = (list: { name: string }[]) => list.map((c) => quote(c.name)).join(", ");

type Probe =
  { ok: true; mailbox: { address: string; userId: string }; outcome: Outcome } | { ok: false; outcome: Outcome };

/**
 * One mailbox the connector will write to: DOCTOR_PROBE_MAILBOX, else a connector's fallback or mapped
 * mailbox, else the directory's first user with a mail address. GET the user, then its Inbox.
 */
async function probeMailbox(
  ctx: GraphContext,
  configured: string | undefined,
  connectors: ConnectorFacts | undefined,
): Promise<Probe> {
  try {
    const chosen = configured
      ? { address: configured, from: "DOCTOR_PROBE_MAILBOX", strict: true }
      : connectors?.mailboxes[0]
        ? { address: connectors.mailboxes[0], from: "a connector's mapping", strict: true }
        : await firstDirectoryMailbox(ctx);
    if (!chosen) {
      return {
        ok: false,
        outcome: {
          status: "skipped",
          detail: "The directory lists no user with a mail address to probe.",
          fix: "Set DOCTOR_PROBE_MAILBOX.",
        },
      };
    }
    const { address, from, strict } = chosen;
    const otherProbe = "Set DOCTOR_PROBE_MAILBOX to a mailbox the connector will write to, to probe that one.";
    const lookup = await lookUpMailbox(ctx, address);
    if (!lookup.found) {
      if (lookup.reason === MAILBOX_NOT_FOUND) {
        return {
          ok: false,
          outcome: {
            status: "fail",
            detail: `No user of the directory has the address ${address} (${from}) as user principal name, primary address or alias.`,
            fix:
              from === "DOCTOR_PROBE_MAILBOX"
                ? "Correct DOCTOR_PROBE_MAILBOX."
                : `Correct the connector's mapping. ${otherProbe}`,
          },
        };
      }
      return {
        ok: false,
        outcome: {
          status: strict ? "fail" : "warn",
          detail: `${address} (${from}) is in the directory but has no Exchange Online mailbox (unlicensed, on-premises or guest user: Graph answers 404 MailboxNotEnabledForRESTAPI).`,
          fix: `Give the user an Exchange Online licence, or map them to a mailbox that exists. ${otherProbe}`,
        },
      };
    }
    const refusal = await mailboxRefusal(ctx, lookup.userId);
    if (refusal) return { ok: false, outcome: { status: "fail", ...explainRefusal(refusal, address) } };
    return {
      ok: true,
      mailbox: { address, userId: lookup.userId },
      outcome: { status: "ok", detail: `Found ${address} (${from}) in the directory and read its Inbox.` },
    };
  } catch (error) {
    return { ok: false, outcome: { status: "fail", ...explainGraphError(error, "read the directory or the mailbox") } };
  }
}

async function firstDirectoryMailbox(ctx: GraphContext) {
  const page = await sendOk<{ value: { mail?: string | null }[] }>(ctx, "directory", {
    method: "GET",
    path: "/users?$top=10&$select=id,mail,userPrincipalName",
  });
  const address = page.value.find((user) => user.mail)?.mail;
  return address ? { address, from: "the directory's first user with a mail address", strict: false } : undefined;
}

async function createFolder(ctx: GraphContext, mailbox: { address: string; userId: string }): Promise<Outcome> {
  try {
    await findOrCreateSymphonyFolder(ctx, mailbox.userId);
    return {
      status: "ok",
      detail: `Inbox/${SYMPHONY_FOLDER_NAME} is in place in ${mailbox.address}'s mailbox (found, or created now): the app may write there. Nothing was imported.`,
    };
  } catch (error) {
    if (error instanceof MailboxUnavailableError) return { status: "fail", ...explainRefusal(error, mailbox.address) };
    return {
      status: "fail",
      ...explainGraphError(error, `create Inbox/${SYMPHONY_FOLDER_NAME} in ${mailbox.address}'s mailbox`),
    };
  }
}

function explainRefusal(refusal: MailboxUnavailableError, address: string): Omit<Outcome, "status"> {
  switch (refusal.problem) {
    case "access-policy":
      return {
        detail:
          `Exchange Online refuses the app ${address}'s mailbox: it is outside the scope of the tenant's application ` +
          `access policy (or RBAC for Applications management scope); Graph answers 403 ErrorAccessDenied.`,
        fix:
          "Add the mailbox to the policy's scope (the mail-enabled security group of New-ApplicationAccessPolicy " +
          "-PolicyScopeGroupId, or the role assignment's management scope); Test-ApplicationAccessPolicy (or, " +
          "with RBAC for Applications, Test-ServicePrincipalAuthorization) tells. Changes can take up to 2 hours " +
          "to reach Graph.",
      };
    case "no-mailbox":
      return {
        detail: `${address} has no Exchange Online mailbox (Graph 404 MailboxNotEnabledForRESTAPI).`,
        fix: "Give the user an Exchange Online licence.",
      };
    case "mailbox-full":
      return {
        detail: `${address}'s mailbox is full (Graph ErrorQuotaExceeded).`,
        fix: "Free space or raise the mailbox's quota.",
      };
    case "too-large":
      return { detail: `${address}'s mailbox refused the request as too large.` };
  }
}

function explainGraphError(error: unknown, what: string): Omit<Outcome, "status"> {
  if (error instanceof M365AuthError) {
    return {
      detail: `Microsoft Graph did not let the app ${what}: the app has no permission for it in this tenant (Graph 403).`,
      fix: `Grant the app User.Read.All and Mail.ReadWrite (or Mail.ReadWrite through RBAC for Applications). ${CONSENT_FIX}`,
    };
  }
  if (error instanceof GraphRequestError) {
    return { detail: `Microsoft Graph refused to ${what} (HTTP ${error.status} ${error.code}).` };
  }
  if (error instanceof GraphRetriesExhaustedError) {
    return {
      detail: `Microsoft Graph kept answering ${error.lastStatus === "network-error" ? "with network errors" : `HTTP ${error.lastStatus}`} when asked to ${what}.`,
      fix: "Check that this server reaches the Graph endpoint (GRAPH_BASE_URL, from M365_CLOUD) and run the checks again.",
    };
  }
  throw error;
}
