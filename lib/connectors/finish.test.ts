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

  it("is refused while Test connection fails, and allowed on record when the admin accepts it", async () => {
    const { podUrl } = h.connector;
    // A pod that does not answer, then a user name the pod does not know.
    await db.connector.update({ where: { id: h.connector.id }, data: { podUrl: "https://pod.elsewhere.example" } });
    const refused = await finishWizard(h.connector.id, admin);
    expect(refused).toMatchObject({ ok: false, sourceFailed: true });
    expect(refused.ok || refused.message).toMatch(
      /^Test connection fails with the saved source settings: .*finish anyway/s,
    );
    expect((await db.connector.findUniqueOrThrow({ where: { id: h.connector.id } })).status).toBe("DRAFT");

    await db.connector.update({ where: { id: h.connector.id }, data: { podUrl } });
    await db.connector.update({ where: { id: h.connector.id }, data: { botUsername: "not-the-bot" } });
    const accepted = await finishWizard(h.connector.id, admin, { acceptFailedSourceTest: true });
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
