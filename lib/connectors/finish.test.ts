import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { db } from "@/lib/db";
import { canRun, startHarness, type Harness } from "@/lib/testing";
import { finishWizard } from "./wizard";

// Finish runs Test connection with the saved settings: a source that refuses them would only make
// every import fail, so finishing needs either a passing test or an admin who accepts it on record.
describe.skipIf(!canRun)("Finish with the saved source", () => {
  let h: Harness;
  const admin = "admin@bank.example";

  beforeAll(async () => {
    h = await startHarness({ seed: "finish-source-test", users: 4, messages: 5 });
    await db.connector.update({
      where: { id: h.connector.id },
      data: { status: "DRAFT", wizardStep: 5, consentGrantedAt: new Date(), tenantId: h.m365.tenantId },
    });
  });
  afterAll(() => h?.close());

  it("leaves a draft a draft when its source was saved again while Test connection ran", async () => {
    // A slow pod: Test connection is still running when another tab saves a pod the test never tried.
    h.symphony.setFaults({ latencyMs: 600 });
    try {
      const finishing = finishWizard(h.connector.id, admin);
      await new Promise((resolve) => setTimeout(resolve, 200));
      await db.connector.update({ where: { id: h.connector.id }, data: { podUrl: "https://pod.elsewhere.example" } });
      expect(await finishing).toEqual({
        ok: false,
        message:
          "The settings were saved again (in another tab, or by another admin) while Test connection ran. Review them, then select Finish again.",
      });
    } finally {
      h.symphony.setFaults({ latencyMs: 0 });
      await db.connector.update({ where: { id: h.connector.id }, data: { podUrl: h.connector.podUrl } });
    }
    expect(await db.connector.findUniqueOrThrow({ where: { id: h.connector.id } })).toMatchObject({ status: "DRAFT" });
    expect(await db.importRun.count({ where: { connectorId: h.connector.id } })).toBe(0);
  });

  it("is refused while Test connection fails, and allowed on record when the admin accepts it", async () => {
    const { podUrl } = h.connector;
    // A pod that does not answer, then a user name the pod does not know.
    await db.connector.update({ where: { id: h.connector.id }, data: { podUrl: "https://pod.elsewhere.example" } });
    const refused = await finishWizard(h.connector.id, admin);
    expect(refused).toMatchObject({ ok: false, sourceFailed: { testedSettings: expect.any(String) as unknown } });
    expect(refused.ok || refused.message).toMatch(
      /^Test connection fails with the saved source settings: .*finish anyway/s,
    );
    expect((await db.connector.findUniqueOrThrow({ where: { id: h.connector.id } })).status).toBe("DRAFT");

    // Another tab saves other settings before the admin ticks Finish anyway: their failure is not the
    // one the admin accepted, so it is shown, and accepting it takes another tick.
    await db.connector.update({ where: { id: h.connector.id }, data: { podUrl } });
    await db.connector.update({ where: { id: h.connector.id }, data: { botUsername: "not-the-bot" } });
    const seen = refused.ok ? undefined : refused.sourceFailed?.testedSettings;
    const changed = await finishWizard(h.connector.id, admin, { acceptFailedSourceTest: seen });
    expect(changed.ok || changed.message).toMatch(
      /^The settings were saved again after the failure you accepted, and Test connection fails with them: /,
    );
    expect((await db.connector.findUniqueOrThrow({ where: { id: h.connector.id } })).status).toBe("DRAFT");

    const testedSettings = changed.ok ? undefined : changed.sourceFailed?.testedSettings;
    expect(testedSettings).not.toBe(seen);
    const accepted = await finishWizard(h.connector.id, admin, { acceptFailedSourceTest: testedSettings });
    expect(accepted).toMatchObject({ ok: true });
    const audit = await db.auditEvent.findFirstOrThrow({
      where: { connectorId: h.connector.id, action: "connector.finished" },
    });
    expect(audit.actor).toBe(admin);
    expect(audit.detail).toMatchObject({ acceptedBy: admin, sourceTestFailed: expect.any(String) as unknown });
  });

  it("goes through at once when the saved source passes Test connection", async () => {
    await db.connector.update({ where: { id: h.connector.id }, data: { botUsername: h.symphony.bot.username } });
    expect(await finishWizard(h.connector.id, admin)).toMatchObject({ ok: true });
    const audit = await db.auditEvent.findFirstOrThrow({
      where: { connectorId: h.connector.id, action: "connector.updated" },
    });
    expect(audit.detail).toEqual({ applied: [] });
  });
});
