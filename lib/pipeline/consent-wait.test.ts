// The first run after admin consent waits for Microsoft 365 to apply it; an RBAC for Applications role
// assignment, which Exchange takes 30 minutes to 2 hours to apply, is waited for as long.
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { db } from "@/lib/db";
import { M365AuthError } from "@/lib/m365";
import { canRun } from "@/lib/testing";
import { consentRetryDelay, defaultConsentWait } from "./consent-wait";
import { PAUSED_NOTE } from "./pause-watch";

async function runConsentedMinutesAgo(minutes: number): Promise<string> {
  const connector = await db.connector.create({
    data: {
      name: `consent-wait-${randomUUID()}`,
      createdBy: "test",
      consentGrantedAt: new Date(Date.now() - minutes * 60_000),
    },
  });
  const run = await db.importRun.create({
    data: { connectorId: connector.id, trigger: "MANUAL", requestedBy: "test" },
  });
  return run.id;
}

const noConsent = new M365AuthError("no-consent", "The app has no Microsoft Graph permission in this tenant.");
const rbacNotInEffect = new M365AuthError("no-consent", "No mailbox lets the app in.", { exchangeRbac: true });

describe.skipIf(!canRun)("waiting for consent to apply", () => {
  it("fails a run refused 40 minutes after Entra consent, but waits for an Exchange role assignment", async () => {
    const runId = await runConsentedMinutesAgo(40);
    expect(await consentRetryDelay(runId, noConsent, 0, defaultConsentWait)).toBeUndefined();

    expect(await consentRetryDelay(runId, rbacNotInEffect, 3, defaultConsentWait)).toBe(120);
    const run = await db.importRun.findUniqueOrThrow({ where: { id: runId } });
    expect(run.status).toBe("RUNNING");
    expect(run.error).toMatch(
      /^Waiting for Exchange Online to apply the app's RBAC for Applications role assignment .* 30 minutes to 2 hours\. Trying again in 120 seconds; if the app still has no access 2 hours after the consent, the run fails\.$/,
    );
  });

  it("fails an RBAC refusal past 2 hours after consent", async () => {
    const runId = await runConsentedMinutesAgo(121);
    expect(await consentRetryDelay(runId, rbacNotInEffect, 0, defaultConsentWait)).toBeUndefined();
  });

  it("waits for Entra consent a few minutes after it, saying so", async () => {
    const runId = await runConsentedMinutesAgo(1);
    expect(await consentRetryDelay(runId, noConsent, 0, defaultConsentWait)).toBe(15);
    const run = await db.importRun.findUniqueOrThrow({ where: { id: runId } });
    expect(run.error).toMatch(/^Waiting for Microsoft 365 to apply the admin consent .* run fails\.$/);
    expect(run.error).toContain("15 minutes after the consent");
  });

  it("still waits after a run an admin paused (it may have asked nothing), not after one that finished", async () => {
    const runId = await runConsentedMinutesAgo(1);
    const { connectorId } = await db.importRun.findUniqueOrThrow({ where: { id: runId } });
    const earlier = (status: "PARTIAL" | "SUCCEEDED", error: string | null) =>
      db.importRun.create({ data: { connectorId, trigger: "SETUP", status, error, startedAt: new Date() } });
    await earlier("PARTIAL", PAUSED_NOTE);
    expect(await consentRetryDelay(runId, noConsent, 0, defaultConsentWait)).toBe(15);
    await earlier("SUCCEEDED", null);
    expect(await consentRetryDelay(runId, noConsent, 0, defaultConsentWait)).toBeUndefined();
  });
});
