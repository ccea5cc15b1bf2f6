// Edit on a connector that imports: the Source and Mapping steps wait for Save changes (Finish), so
// a run meanwhile keeps the settings in use, and an edit left half done changes nothing.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { db } from "@/lib/db";
import { runImport } from "@/lib/pipeline";
import { canRun, deliveryReport, startHarness, type Harness } from "@/lib/testing";
import { getConnectorSettings } from "./queries";
import { discardPendingEdit, finishWizard, saveMapping, saveSource } from "./wizard";

describe.skipIf(!canRun)("Edit of an active connector", () => {
  let h: Harness;
  const admin = "admin@bank.example";

  beforeAll(async () => {
    h = await startHarness({ seed: "edit-active", users: 4, messages: 12 });
    await db.connector.update({
      where: { id: h.connector.id },
      data: { wizardStep: 6, consentGrantedAt: new Date(), tenantId: h.m365.tenantId },
    });
  });
  afterAll(() => h?.close());

  /** The Source step as the form sends it for the harness's pod, with the key on file. */
  const sourceForm = (changes: { botUsername?: string; streamTypes?: string[] }) => ({
    sourceKind: "CONVERSATIONS",
    podUrl: h.connector.podUrl!,
    agentUrl: h.connector.agentUrl!,
    keyManagerUrl: h.connector.keyManagerUrl ?? "",
    botUsername: changes.botUsername ?? h.connector.botUsername!,
    privateKeyPem: "",
    streamTypes: changes.streamTypes ?? h.connector.streamTypes,
  });
  const row = () => db.connector.findUniqueOrThrow({ where: { id: h.connector.id } });

  it("keeps the settings in use while the edit is saved step by step, and applies it whole at Save changes", async () => {
    const id = h.connector.id;
    const [first, second] = h.symphony.org.people.filter((person) => person.m365Address);
    const before = await row();

    expect(await saveSource(id, sourceForm({ streamTypes: ["IM"] }), admin)).toMatchObject({ ok: true });
    // The CSV sends the first person's chats to the second person's mailbox.
    const csv = [{ symphonyKey: first!.symphonyEmail.toLowerCase(), mailbox: second!.m365Address! }];
    const upload = csv.map((mapping) => ({ ...mapping, line: 2 }));
    expect(await saveMapping(id, { mappingMode: "CSV", fallbackMailbox: "" }, upload, admin)).toMatchObject({
      ok: true,
    });

    // The wizard shows the edit; the connector, the flyout and the runs keep what was in use.
    expect(await getConnectorSettings(id, { edited: true })).toMatchObject({
      streamTypes: ["IM"],
      mappingMode: "CSV",
      mappingCount: 1,
      editPending: true,
    });
    expect(await getConnectorSettings(id)).toMatchObject({
      streamTypes: before.streamTypes,
      mappingMode: "AUTO",
      mappingCount: 0,
      editPending: true,
    });
    expect(await row()).toMatchObject({ streamTypes: before.streamTypes, mappingMode: "AUTO" });

    // A run now reads every stream type and maps by email: nothing missing (IM only would miss the
    // rooms' messages), nothing in the wrong mailbox (the CSV would put the first person's there).
    await runImport(await h.newRun(), { workerId: "edit-test", environment: h.environment });
    expect(await deliveryReport(h)).toMatchObject({ missing: [], duplicated: [], unexpected: [] });

    // Save changes clicked twice: one applies the edit, the other finds nothing left to apply.
    expect(await Promise.all([finishWizard(id, admin), finishWizard(id, admin)])).toEqual([{ ok: true }, { ok: true }]);
    expect(await row()).toMatchObject({ streamTypes: ["IM"], mappingMode: "CSV", pendingEdit: null });
    expect(await db.auditEvent.count({ where: { connectorId: id, action: "connector.updated" } })).toBe(1);
    expect(
      await db.userMapping.findMany({ where: { connectorId: id }, select: { symphonyKey: true, mailbox: true } }),
    ).toEqual(csv);
    expect(await db.pendingUserMapping.count({ where: { connectorId: id } })).toBe(0);
    const applied = await db.auditEvent.findFirstOrThrow({
      where: { connectorId: id, action: "connector.updated" },
      orderBy: { at: "desc" },
    });
    expect(applied).toMatchObject({ actor: admin, detail: { applied: ["source", "mapping"] } });
  });

  it("applies only the source Test connection tried: one saved again meanwhile is refused, and the next Save changes tests it", async () => {
    const id = h.connector.id;
    const before = await row();
    expect(await saveSource(id, sourceForm({ streamTypes: ["ROOM"] }), admin)).toMatchObject({ ok: true });
    // A slow pod: Test connection is still running when another tab saves a source the pod refuses.
    h.symphony.setFaults({ latencyMs: 1_500 });
    try {
      const finishing = finishWizard(id, admin);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(await saveSource(id, sourceForm({ botUsername: "not-the-bot" }), admin)).toMatchObject({ ok: true });
      expect(await finishing).toMatchObject({
        ok: false,
        message: expect.stringMatching(/saved again .* while Test connection ran/) as unknown,
      });
    } finally {
      h.symphony.setFaults({ latencyMs: 0 });
    }
    expect(await row()).toMatchObject({ botUsername: before.botUsername, streamTypes: before.streamTypes });
    expect(await finishWizard(id, admin)).toMatchObject({ ok: false, sourceFailed: {} });
    expect(await discardPendingEdit(id, admin)).toEqual({ ok: true });
  });

  it("applies no mapping the Review did not show, and says so when another tab discarded the edit meanwhile", async () => {
    const id = h.connector.id;
    const before = await row();
    const whileTesting = async (meanwhile: () => Promise<unknown>) => {
      h.symphony.setFaults({ latencyMs: 600 });
      try {
        const finishing = finishWizard(id, admin);
        await new Promise((resolve) => setTimeout(resolve, 200));
        await meanwhile();
        return await finishing;
      } finally {
        h.symphony.setFaults({ latencyMs: 0 });
      }
    };
    expect(await saveSource(id, sourceForm({ streamTypes: ["IM"] }), admin)).toMatchObject({ ok: true });
    // Another tab saves a fallback mailbox while Test connection runs: it was not on the Review.
    const remapped = await whileTesting(() =>
      saveMapping(id, { mappingMode: "AUTO", fallbackMailbox: "elsewhere@bank.example" }, undefined, admin),
    );
    expect(remapped).toMatchObject({
      ok: false,
      message: expect.stringMatching(/^The settings were saved again .* while Test connection ran/) as unknown,
    });
    expect(await row()).toMatchObject({ fallbackMailbox: before.fallbackMailbox, streamTypes: before.streamTypes });

    // Another tab discards the edit while Test connection runs: nothing is applied, and the admin is told.
    const discarded = await whileTesting(() => discardPendingEdit(id, admin));
    expect(discarded).toEqual({
      ok: false,
      message: "The changes were discarded (in another tab, or by another admin): nothing was applied.",
    });
    expect(await row()).toMatchObject({ fallbackMailbox: before.fallbackMailbox, streamTypes: before.streamTypes });
  });

  it("takes the real-time capture's lease back when applied, and drops its acknowledgement id when the sign-in changed", async () => {
    const id = h.connector.id;
    const lease = () => db.captureLease.findUniqueOrThrow({ where: { connectorId: id } });
    const held = { holder: "worker-1", expiresAt: new Date(Date.now() + 60_000), ackId: "ack-of-the-feed" };
    await db.captureLease.upsert({ where: { connectorId: id }, create: { connectorId: id, ...held }, update: held });

    // The mapping alone: the capture starts again with it, on the same feed.
    expect(
      await saveMapping(id, { mappingMode: "AUTO", fallbackMailbox: "fallback@bank.example" }, undefined, admin),
    ).toMatchObject({ ok: true });
    expect(await finishWizard(id, admin)).toEqual({ ok: true });
    expect(await lease()).toMatchObject({ holder: null, expiresAt: null, ackId: "ack-of-the-feed" });

    // Another service account: the earlier feed's acknowledgement id means nothing to the new one.
    await db.captureLease.update({ where: { connectorId: id }, data: held });
    expect(await saveSource(id, sourceForm({ botUsername: "not-the-bot" }), admin)).toMatchObject({ ok: true });
    const refused = await finishWizard(id, admin);
    const testedSettings = refused.ok ? undefined : refused.sourceFailed?.testedSettings;
    expect(await finishWizard(id, admin, { acceptFailedSourceTest: testedSettings })).toEqual({ ok: true });
    expect(await lease()).toMatchObject({ holder: null, ackId: "" });
    await db.connector.update({ where: { id }, data: { botUsername: h.connector.botUsername } });
  });

  it("refuses Save changes while the edited source fails Test connection, and Discard changes keeps what is in use", async () => {
    const id = h.connector.id;
    const before = await row();
    expect(await saveSource(id, sourceForm({ botUsername: "not-the-bot" }), admin)).toMatchObject({ ok: true });

    const refused = await finishWizard(id, admin);
    expect(refused).toMatchObject({ ok: false, sourceFailed: {} });
    expect((await row()).botUsername).toBe(before.botUsername);

    expect(await discardPendingEdit(id, admin)).toEqual({ ok: true });
    expect(await row()).toMatchObject({ botUsername: before.botUsername, pendingEdit: null });
    expect(await getConnectorSettings(id, { edited: true })).toMatchObject({
      botUsername: before.botUsername,
      editPending: false,
    });
    expect(
      await db.auditEvent.findFirstOrThrow({
        where: { connectorId: id, action: "connector.edit_discarded" },
        orderBy: { at: "desc" },
      }),
    ).toMatchObject({ actor: admin });
    // Nothing left to discard: a second click changes nothing.
    expect(await discardPendingEdit(id, admin)).toEqual({ ok: false });
  });
});
