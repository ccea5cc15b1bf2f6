// A connector's health as its runs show it, set by the worker where a run fails, waits for a retry or ends well.
import { db } from "@/lib/db";
import { errorMessage } from "@/lib/errors";
import type { Connector } from "@/lib/generated/prisma/client";
import { GraphRequestError, GraphRetriesExhaustedError, M365AuthError } from "@/lib/m365";
import { SftpError, type SftpErrorCode } from "@/lib/content-export";
import { RunSetupError } from "@/lib/pipeline";
import { SymphonyError, type SymphonyErrorCode } from "@/lib/symphony";

export type HealthSettings = {
  /** How long errors that a retry may cure go on, with no progress between them, before the connector is DEGRADED. */
  degradedAfterSeconds: number;
};

export const defaultHealthSettings: HealthSettings = { degradedAfterSeconds: 10 * 60 };

/** What stopped a run, in words an admin acts on, and whether only an admin can fix it (no retry will). */
export type Diagnosis = { reason: string; needsAdmin: boolean };

/** The connector settings a reason may name (never a secret). */
export type DiagnosedConnector = Pick<Connector, "podUrl" | "agentUrl" | "keyManagerUrl" | "botUsername">;

const SFTP_SETTINGS_TO_FIX: SftpErrorCode[] = [
  "invalid_settings",
  "blocked_host",
  "host_key_unconfirmed",
  "host_key_mismatch",
  "auth_rejected",
  "not_found",
  "permission_denied",
];

/** Answers of a sign-in endpoint that mean its URL or account is wrong, not that the service is down. */
const SIGN_IN_REFUSALS: SymphonyErrorCode[] = [
  "not_found",
  "bad_request",
  "unauthorized",
  "forbidden",
  "redirect",
  "unexpected_status",
  "invalid_response",
];

/** What a 403 of the Datahose read means (agent-api-public.yaml: a separately contracted add-on). */
export const NO_DATAHOSE =
  "This pod does not have Datahose, or the service account is not entitled to it (HTTP 403 from the Datahose): real-time capture needs Symphony's Datahose add-on. Ask Symphony to enable it, or turn real time off in the Source step.";

/** Pod, key manager and Files API sign-in: POST /login/pubkey/authenticate, /relay/pubkey/authenticate, /login/idm/tokens. */
const SIGN_IN_ENDPOINT = /^POST \/(login|relay)\//;

export function diagnose(error: unknown, connector: DiagnosedConnector): Diagnosis {
  if (error instanceof SymphonyError) return diagnoseSymphony(error, connector);
  if (error instanceof M365AuthError) {
    return error.reason === "unreachable"
      ? { needsAdmin: false, reason: `Microsoft Entra ID could not be reached to sign the app in: ${error.message}` }
      : { needsAdmin: true, reason: `Microsoft 365 refused the app. ${error.message}` };
  }
  if (error instanceof RunSetupError) {
    return { needsAdmin: true, reason: `${error.message}: open the connector's setup and complete it.` };
  }
  if (error instanceof SftpError) {
    return { needsAdmin: SFTP_SETTINGS_TO_FIX.includes(error.code), reason: `SFTP: ${error.message}` };
  }
  if (error instanceof GraphRetriesExhaustedError) {
    return {
      needsAdmin: false,
      reason: `Microsoft 365 kept throttling or failing requests (${error.attempts} attempts, last answer ${error.lastStatus}).`,
    };
  }
  if (error instanceof GraphRequestError) {
    return { needsAdmin: false, reason: `Microsoft Graph refused a request: ${error.message}` };
  }
  return { needsAdmin: false, reason: errorMessage(error).slice(0, 1000) };
}

/** Errors that no retry fixes: missing consent or credentials, a refused sign-in, incomplete or wrong settings. */
export function needsAnAdministrator(error: unknown): boolean {
  return diagnose(error, { podUrl: null, agentUrl: null, keyManagerUrl: null, botUsername: null }).needsAdmin;
}

function diagnoseSymphony(error: SymphonyError, connector: DiagnosedConnector): Diagnosis {
  const service = error.endpoint.includes("/relay/")
    ? { name: "key manager", url: connector.keyManagerUrl }
    : error.endpoint.includes(" /agent/")
      ? { name: "agent", url: connector.agentUrl }
      : { name: "pod", url: connector.podUrl };
  const at = service.url ? ` at ${service.url}` : "";
  const answer = error.status ? `HTTP ${error.status}` : error.code;
  const admin = (reason: string) => ({ needsAdmin: true, reason });
  const retry = (reason: string) => ({ needsAdmin: false, reason });
  if (error.code === "auth_rejected") {
    return admin(
      `Symphony refused the sign-in: the ${service.name} rejected the key of service account "${connector.botUsername ?? "?"}". ` +
        "Check the service account's user name and that the public key of the stored private key is registered on it.",
    );
  }
  if (SIGN_IN_ENDPOINT.test(error.endpoint) && SIGN_IN_REFUSALS.includes(error.code)) {
    const what =
      error.code === "not_found"
        ? `there is no sign-in endpoint${at} (${error.endpoint} answered HTTP 404)`
        : `${error.endpoint}${at} answered ${error.code === "redirect" ? "with a redirect" : answer}`;
    return admin(
      `Symphony sign-in failed: ${what}. Check the ${service.name} URL in the Source step: the base address, without /pod, /agent or /relay.`,
    );
  }
  if (error.code === "forbidden" && error.endpoint.endsWith(" /agent/v5/events/read")) return admin(NO_DATAHOSE);
  switch (error.code) {
    case "forbidden":
      return admin(
        `Symphony refused the service account ${error.endpoint} (HTTP 403): it lacks a role or entitlement it needs.`,
      );
    case "key_manager_required":
      return admin(`Symphony settings: ${error.message.replace(`${error.endpoint}: `, "")}`);
    case "blocked_host":
      return admin(
        `The ${service.name} URL${service.url ? ` ${service.url}` : ""} points at a loopback, link-local or private address, which this server does not call (the operator may allow loopback and private networks with SYMPHONY_ALLOW_PRIVATE_HOSTS=true; link-local and cloud metadata addresses stay refused).`,
      );
    case "insecure_url": {
      const why = error.message.replace(`${error.endpoint}: `, "");
      // A download URL the pod handed out (Files API) is not a setting an admin can change.
      if (error.endpoint.includes("/files/") || error.endpoint.includes("{signedUrl}"))
        return admin(`Symphony ${error.endpoint}: ${why}.`);
      return admin(
        `The ${service.name} URL${service.url ? ` ${service.url}` : ""} was not called: ${why}. Change it in the Source step.`,
      );
    }
    case "server_error":
      return retry(`Symphony's ${service.name} is answering with server errors (${error.endpoint}: ${answer}).`);
    case "rate_limited":
      return retry(`Symphony's ${service.name} keeps rate-limiting the service account (${error.endpoint}: HTTP 429).`);
    case "network":
      return retry(`Symphony's ${service.name}${at} cannot be reached (${error.endpoint}: network error).`);
    case "timeout":
      return retry(`Symphony's ${service.name}${at} did not answer in time (${error.endpoint}).`);
    default:
      return retry(`Symphony's ${service.name} answered ${error.endpoint} with ${answer}.`);
  }
}

function minutesSince(since: Date, now: Date): number {
  return Math.max(1, Math.round((now.getTime() - since.getTime()) / 60_000));
}

/**
 * A try of the run stopped on an error a retry may cure: the run (still RUNNING) says why and when the
 * next try is, and the connector turns DEGRADED once such tries have failed, with no progress between
 * them, for longer than the threshold. A connector that needs an administrator stays so.
 */
export async function recordRetry(
  run: { id: string; connectorId: string },
  reason: string,
  nextAttemptAt: Date,
  settings: HealthSettings,
): Promise<void> {
  const now = new Date();
  await db.importRun.update({ where: { id: run.id }, data: { status: "RUNNING", error: reason, nextAttemptAt } });
  await db.connector.updateMany({ where: { id: run.connectorId, failingSince: null }, data: { failingSince: now } });
  const connector = await db.connector.findUnique({
    where: { id: run.connectorId },
    select: { health: true, failingSince: true },
  });
  if (!connector?.failingSince || connector.health === "NEEDS_ATTENTION") return;
  if (now.getTime() - connector.failingSince.getTime() < settings.degradedAfterSeconds * 1000) return;
  const healthReason = `Import runs have been failing for ${minutesSince(connector.failingSince, now)} minutes: ${reason}`;
  await db.connector.update({
    where: { id: run.connectorId },
    data: connector.health === "DEGRADED" ? { healthReason } : { health: "DEGRADED", healthReason, healthSince: now },
  });
}

/** Real-time capture's health reason begins so: capture changes no reason that a run gave. */
export const CAPTURE_FAILING = "Real-time capture has been failing";

/**
 * Capture has kept failing since `since` (its lease's own series): once that lasts
 * `degradedAfterSeconds`, a healthy connector is DEGRADED, saying so. A connector whose runs made it
 * DEGRADED or Needs attention keeps what they said.
 */
export async function recordCaptureFailing(
  connectorId: string,
  reason: string,
  since: Date,
  settings: HealthSettings,
): Promise<void> {
  const now = new Date();
  if (now.getTime() - since.getTime() < settings.degradedAfterSeconds * 1000) return;
  const healthReason = `${CAPTURE_FAILING} for ${minutesSince(since, now)} minutes: ${reason}`;
  await db.connector.updateMany({
    where: { id: connectorId, health: "DEGRADED", healthReason: { startsWith: CAPTURE_FAILING } },
    data: { healthReason },
  });
  await db.connector.updateMany({
    where: { id: connectorId, health: "HEALTHY" },
    data: { health: "DEGRADED", healthReason, healthSince: now },
  });
}

/** Capture reads again: a DEGRADED that capture's errors caused is over (one a run caused is not). */
export async function recordCaptureRecovered(connectorId: string): Promise<void> {
  await db.connector.updateMany({
    where: { id: connectorId, health: "DEGRADED", healthReason: { startsWith: CAPTURE_FAILING } },
    data: { health: "HEALTHY", healthReason: null, healthSince: new Date() },
  });
}

/** Notes a wait for the next try that is not an error of the connector (admin consent being applied). */
export async function recordWait(runId: string, nextAttemptAt: Date): Promise<void> {
  await db.importRun.update({ where: { id: runId }, data: { nextAttemptAt } });
}

/**
 * A run FAILED: the connector NEEDS_ATTENTION when only an admin can fix the error, else it is DEGRADED.
 * Answers the connector when it has just entered NEEDS_ATTENTION (admins are told once, not at every run).
 */
export async function recordFailure(
  connectorId: string,
  reason: string,
  needsAdmin: boolean,
): Promise<Pick<Connector, "id" | "name" | "tenantId" | "healthSince"> | null> {
  const health = needsAdmin ? "NEEDS_ATTENTION" : "DEGRADED";
  const healthReason = needsAdmin ? reason : `The last run failed: ${reason}`;
  const now = new Date();
  const entered = await db.connector.updateMany({
    where: { id: connectorId, health: { not: health } },
    data: { health, healthReason, healthSince: now },
  });
  if (entered.count === 0) {
    await db.connector.updateMany({ where: { id: connectorId }, data: { healthReason } });
    return null;
  }
  if (!needsAdmin) return null;
  return db.connector.findUnique({
    where: { id: connectorId },
    select: { id: true, name: true, tenantId: true, healthSince: true },
  });
}

/** A run ended SUCCEEDED or PARTIAL: the connector is healthy, and any series of errors is over. */
export async function recordSuccess(connectorId: string): Promise<void> {
  const recovered = await db.connector.updateMany({
    where: { id: connectorId, health: { not: "HEALTHY" } },
    data: { health: "HEALTHY", healthReason: null, healthSince: new Date(), failingSince: null },
  });
  if (recovered.count === 0) await recordProgress(connectorId);
}

/** A try made progress (collected a message or finished an item): the errors before it were not one series. */
export async function recordProgress(connectorId: string): Promise<void> {
  await db.connector.updateMany({
    where: { id: connectorId, failingSince: { not: null } },
    data: { failingSince: null },
  });
}

/** diagnose() with the connector's settings read from the database (a deleted connector names none). */
export async function diagnoseRunError(connectorId: string, error: unknown): Promise<Diagnosis> {
  const connector = await db.connector
    .findUnique({
      where: { id: connectorId },
      select: { podUrl: true, agentUrl: true, keyManagerUrl: true, botUsername: true },
    })
    .catch(() => null);
  return diagnose(error, connector ?? { podUrl: null, agentUrl: null, keyManagerUrl: null, botUsername: null });
}
