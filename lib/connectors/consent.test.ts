import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { config } from "@/lib/config";
import { db } from "@/lib/db";
import { startM365Sandbox, type M365Sandbox } from "@/sandbox/m365";
import { beginConsent, completeConsent } from "./consent";
import { acceptTerms, finishWizard } from "./wizard";

// What the callback may not be talked into, and how it records a consent Microsoft 365 has not applied
// yet (against the M365 sandbox); the whole journey runs in e2e/security.spec.ts.
const TENANT = vi.hoisted(() => {
  // Before any module reads the configuration.
  const tenant = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";
  process.env.ENTRA_CLIENT_ID ??= "5d7c2a1e-0b9f-4e3d-8c6a-7f1e2d3c4b5a";
  process.env.ENTRA_TENANT_ID ??= tenant;
  return tenant;
});
const OTHER_TENANT = "9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d";

const canRun = Boolean(process.env.DATABASE_URL);
const caDir = process.env.M365_SANDBOX_CA_DIR;
const alice = { oid: "oid-alice", actor: "Alice Admin", tid: TENANT };
const mallory = { oid: "oid-mallory", actor: "Mallory Admin", tid: TENANT };

describe.skipIf(!canRun)("the admin-consent callback", () => {
  const created: string[] = [];
  let sandbox: M365Sandbox | undefined;
  beforeAll(async () => {
    if (!caDir || !process.env.NODE_EXTRA_CA_CERTS) return;
    // The tenant and the import app registration, as Entra ID: set before anything reads the configuration.
    sandbox = await startM365Sandbox({ caDir, tenantId: TENANT, app: { clientId: process.env.ENTRA_CLIENT_ID } });
    process.env.ENTRA_CLIENT_SECRET = sandbox.app.clientSecret;
    process.env.ENTRA_AUTHORITY_HOST = sandbox.url;
    process.env.GRAPH_BASE_URL = sandbox.graphBaseUrl;
  });
  afterAll(async () => {
    await db.connector.deleteMany({ where: { id: { in: created } } });
    await sandbox?.close();
  });

  async function pendingConsentOf(admin: { oid: string; actor: string; tid?: string }) {
    const draft = await acceptTerms(undefined, admin.actor);
    if (!draft.ok) throw new Error("draft not created");
    created.push(draft.connectorId);
    const url = new URL(await beginConsent(draft.connectorId, admin));
    return { connectorId: draft.connectorId, state: url.searchParams.get("state")! };
  }
  const pendingConsent = () => pendingConsentOf(alice);

  it("belongs to the admin who started it: another admin's session cannot complete it", async () => {
    const { connectorId, state } = await pendingConsent();
    const callback = { state, admin_consent: "True", tenant: TENANT };
    expect(await completeConsent(callback, mallory)).toEqual({ kind: "unknown-state" });
    const row = await db.connector.findUniqueOrThrow({ where: { id: connectorId } });
    expect(row.tenantId).toBeNull();
    expect(row.consentState).toBe(state);
  });

  it.each([
    ["a path", "not-a-tenant/../x?y=1"],
    ["a domain name", "contoso.onmicrosoft.com"],
    ["another tenant's GUID", OTHER_TENANT],
  ])("refuses %s as the tenant, records nothing and uses the state up", async (_, tenant) => {
    const { connectorId, state } = await pendingConsent();
    const callback = { state, admin_consent: "True", tenant };
    expect(await completeConsent(callback, alice)).toEqual({ kind: "refused", connectorId, reason: "wrong_tenant" });
    const row = await db.connector.findUniqueOrThrow({ where: { id: connectorId } });
    expect(row).toMatchObject({ tenantId: null, consentGrantedAt: null, consentState: null });
    expect(await completeConsent(callback, alice)).toEqual({ kind: "unknown-state" });
  });

  it("refuses a consent that names another tenant than the signed-in admin's own", async () => {
    // An admin of another organisation, signed in to this app, is sent a callback naming our tenant.
    const { connectorId, state } = await pendingConsentOf({ ...alice, tid: OTHER_TENANT });
    const outcome = await completeConsent(
      { state, admin_consent: "True", tenant: TENANT },
      { ...alice, tid: OTHER_TENANT },
    );
    expect(outcome).toEqual({ kind: "refused", connectorId, reason: "wrong_tenant" });
    expect(await db.connector.findUniqueOrThrow({ where: { id: connectorId } })).toMatchObject({
      tenantId: null,
      consentGrantedAt: null,
    });
  });

  it("asks to sign in again when the session does not name the admin's tenant", async () => {
    const { connectorId, state } = await pendingConsentOf({ oid: alice.oid, actor: alice.actor });
    const outcome = await completeConsent(
      { state, admin_consent: "True", tenant: TENANT },
      { oid: alice.oid, actor: alice.actor },
    );
    expect(outcome).toEqual({ kind: "refused", connectorId, reason: "sign_in_again" });
  });

  describe.skipIf(!caDir || !process.env.NODE_EXTRA_CA_CERTS)("against Entra ID and Graph (the M365 sandbox)", () => {
    it("records a consent Microsoft 365 has not applied yet, and says the first import will wait for it", async () => {
      expect(config().GRAPH_BASE_URL).toBe(sandbox!.graphBaseUrl);
      // Consent given on Microsoft's page, but for a while Entra ID issues tokens without the app's roles.
      sandbox!.setFaults({ consentDelaySeconds: 600 });
      sandbox!.setConsent(true);
      const { connectorId, state } = await pendingConsent();
      const outcome = await completeConsent({ state, admin_consent: "True", tenant: TENANT }, alice);
      expect(outcome).toEqual({ kind: "granted", connectorId, pending: true });
      const row = await db.connector.findUniqueOrThrow({ where: { id: connectorId } });
      expect(row).toMatchObject({ tenantId: TENANT, consentGrantedBy: alice.actor, consentState: null });
      expect(row.consentGrantedAt).toBeInstanceOf(Date);
    });

    it("goes on with one of two callbacks that bring the same state at once (a double click), and records one consent", async () => {
      sandbox!.setFaults({ consentDelaySeconds: 0 });
      sandbox!.setConsent(true);
      const { connectorId, state } = await pendingConsent();
      const callback = { state, admin_consent: "True", tenant: TENANT };
      const outcomes = await Promise.all([completeConsent(callback, alice), completeConsent(callback, alice)]);
      expect(outcomes).toEqual(
        expect.arrayContaining([{ kind: "granted", connectorId, pending: false }, { kind: "unknown-state" }]),
      );
      const audits = await db.auditEvent.count({ where: { connectorId, action: "connector.consent_granted" } });
      expect(audits).toBe(1);
    });

    it("counts no step a draft skipped: a consent given before its name, source and mapping leaves Finish asking for them", async () => {
      sandbox!.setFaults({ consentDelaySeconds: 0 });
      sandbox!.setConsent(true);
      const { connectorId, state } = await pendingConsent();
      const outcome = await completeConsent({ state, admin_consent: "True", tenant: TENANT }, alice);
      expect(outcome).toEqual({ kind: "granted", connectorId, pending: false });
      expect(await db.connector.findUniqueOrThrow({ where: { id: connectorId } })).toMatchObject({
        tenantId: TENANT,
        wizardStep: 1,
      });
      expect(await finishWizard(connectorId, alice.actor)).toEqual({
        ok: false,
        message: "Complete every step before finishing.",
      });
    });

    it("records a consent that works at once as applied", async () => {
      sandbox!.setFaults({ consentDelaySeconds: 0 });
      sandbox!.setConsent(true);
      const { connectorId, state } = await pendingConsent();
      const outcome = await completeConsent({ state, admin_consent: "True", tenant: TENANT }, alice);
      expect(outcome).toEqual({ kind: "granted", connectorId, pending: false });
    });
  });

  it("answers a refusal with its own reason, never the description it was sent", async () => {
    const { connectorId, state } = await pendingConsent();
    const outcome = await completeConsent(
      { state, error: "access_denied", error_description: "Call +1-800-555-0199 now" },
      alice,
    );
    expect(outcome).toEqual({ kind: "refused", connectorId, reason: "declined" });
    expect(JSON.stringify(outcome)).not.toContain("800");
  });
});
