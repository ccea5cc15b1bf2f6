import { db } from "@/lib/db";
import { M365AuthError } from "@/lib/m365";
import { PAUSED_NOTE } from "./pause-watch";

/** How the first run after admin consent waits for Microsoft 365 to apply it. */
export type ConsentWait = {
  /** How long after the consent a run that meets "no consent" waits for it instead of failing. */
  windowSeconds: number;
  /** Delay before the first new try; doubled at each one, up to maxDelaySeconds. */
  firstDelaySeconds: number;
  maxDelaySeconds: number;
};

export const defaultConsentWait: ConsentWait = { windowSeconds: 15 * 60, firstDelaySeconds: 15, maxDelaySeconds: 120 };

/**
 * Exchange applies an RBAC for Applications role assignment "between 30 minutes and 2 hours" after it
 * is made (and keeps a busy app's cache up to 2 hours): a run refused for that waits this long.
 */
const EXCHANGE_RBAC_WINDOW_SECONDS = 2 * 60 * 60;

/**
 * Entra ID can take minutes after admin consent to put the app's new permissions in its tokens, and
 * until then Graph refuses them. A run that meets "no consent" within `windowSeconds` of the consent,
 * with no run finished since it, waits instead of failing: it stays RUNNING with the reason in plain
 * words, and the answer is the delay in seconds before it is tried again (`retries`: tries so far).
 * Undefined for another error, an older consent or one that already worked.
 */
export async function consentRetryDelay(
  runId: string,
  error: unknown,
  retries: number,
  wait: ConsentWait,
): Promise<number | undefined> {
  if (!(error instanceof M365AuthError) || error.reason !== "no-consent") return undefined;
  const windowSeconds = error.exchangeRbac
    ? Math.max(wait.windowSeconds, EXCHANGE_RBAC_WINDOW_SECONDS)
    : wait.windowSeconds;
  const run = await db.importRun.findUnique({
    where: { id: runId },
    select: { connectorId: true, connector: { select: { consentGrantedAt: true } } },
  });
  const grantedAt = run?.connector.consentGrantedAt;
  if (!run || !grantedAt || Date.now() >= grantedAt.getTime() + windowSeconds * 1000) return undefined;
  const worked = await db.importRun.count({
    where: {
      connectorId: run.connectorId,
      id: { not: runId },
      status: { in: ["SUCCEEDED", "PARTIAL"] },
      startedAt: { gte: grantedAt },
      // A run an admin paused may have stopped before it asked Microsoft 365 anything.
      OR: [{ error: null }, { NOT: { error: { startsWith: PAUSED_NOTE } } }],
    },
  });
  if (worked > 0) return undefined;
  const delay = Math.min(wait.maxDelaySeconds, wait.firstDelaySeconds * 2 ** Math.min(retries, 16));
  await db.importRun.update({
    where: { id: runId },
    data: { status: "RUNNING", error: waitingReason(grantedAt, delay, windowSeconds, error.exchangeRbac) },
  });
  return delay;
}

function waitingReason(grantedAt: Date, delaySeconds: number, windowSeconds: number, exchangeRbac: boolean): string {
  const at = `${grantedAt.toISOString().slice(11, 16)} UTC`;
  const waiting = exchangeRbac
    ? "Waiting for Exchange Online to apply the app's RBAC for Applications role assignment (admin consent " +
      `given at ${at}): this takes 30 minutes to 2 hours.`
    : `Waiting for Microsoft 365 to apply the admin consent given at ${at}: this can take a few minutes.`;
  const limit = windowSeconds >= 3600 ? `${windowSeconds / 3600} hours` : `${Math.round(windowSeconds / 60)} minutes`;
  return (
    `${waiting} Trying again in ${delaySeconds} seconds; if the app still has no access ${limit} after the ` +
    "consent, the run fails."
  );
}
