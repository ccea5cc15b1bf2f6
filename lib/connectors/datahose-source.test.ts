// The "Real time (Datahose)" source: what the Source step saves, and Test connection's entitlement check.
import { afterAll, describe, expect, it } from "vitest";
import { db } from "@/lib/db";
import { startSymphonySandbox, type SymphonySandbox } from "@/sandbox/symphony";
import { parseSourceStep } from "./export-source-settings";
import { testSource } from "./source-check";
import { acceptTerms, saveSource } from "./wizard";

const canRun = Boolean(process.env.DATABASE_URL);
const created: string[] = [];
let sandbox: SymphonySandbox | undefined;
afterAll(async () => {
  await sandbox?.close();
  if (canRun) await db.connector.deleteMany({ where: { id: { in: created } } });
});

describe.skipIf(!canRun)("the Datahose source", () => {
  it("is saved as such, and Test connection says whether the pod has Datahose", async () => {
    sandbox = await startSymphonySandbox({
      seed: "datahose-source",
      org: { users: 4, messages: 8 },
      datafeedTimeoutMs: 300,
    });
    const result = await acceptTerms(undefined, "test@bank.example");
    if (!result.ok) throw new Error("draft not created");
    created.push(result.connectorId);
    const settings = {
      sourceKind: "DATAHOSE",
      podUrl: sandbox.podUrl,
      agentUrl: sandbox.agentUrl,
      keyManagerUrl: sandbox.keyManagerUrl,
      botUsername: sandbox.bot.username,
      privateKeyPem: sandbox.bot.privateKeyPem,
      streamTypes: ["IM", "MIM", "ROOM"],
    };
    expect(await saveSource(result.connectorId, settings, "test")).toMatchObject({ ok: true });
    expect((await db.connector.findUniqueOrThrow({ where: { id: result.connectorId } })).sourceKind).toBe("DATAHOSE");

    const entitled = await testSource(result.connectorId, settings);
    expect(entitled).toMatchObject({ ok: true, report: { ok: true, tone: "success" } });
    if (entitled.ok) {
      expect(entitled.report.message).toContain("This pod has Datahose");
      // The admin learns which account gets other people's files.
      expect(entitled.report.notes).toEqual([
        { tone: "info", text: expect.stringContaining("Content Export service user") as unknown },
      ]);
    }

    sandbox.setDatahose({ entitled: false });
    const refused = await testSource(result.connectorId, settings);
    expect(refused).toMatchObject({ ok: true, report: { ok: false, tone: "error" } });
    if (refused.ok) expect(refused.report.message).toContain("this pod does not have Datahose");
  });
});

describe("real time beside a Files API export", () => {
  const exportSettings = {
    sourceKind: "CONTENT_EXPORT",
    exportDelivery: "FILES_API",
    podUrl: "https://acme.symphony.com",
    botUsername: "archiver",
    realtime: true,
  };

  it("needs the agent URL the Datahose is read through", async () => {
    const missing = await parseSourceStep(exportSettings);
    expect(missing.ok).toBe(false);
    if (!missing.ok) expect(Object.keys(missing.errors)).toContain("agentUrl");
    const given = await parseSourceStep({ ...exportSettings, agentUrl: "https://agent.acme.example" });
    expect(given).toMatchObject({
      ok: true,
      settings: { source: "FILES_API", realtime: { agentUrl: "https://agent.acme.example" } },
    });
  });
});
