import { afterAll, describe, expect, it, vi } from "vitest";
import { db } from "@/lib/db";
import { beginConsent, completeConsent } from "./consent";
import { acceptTerms } from "./wizard";

// What the callback may not be talked into; the accepted path (token + Graph proof) runs in e2e/security.spec.ts.
const TENANT = vi.hoisted(() => {
  // Before any module reads the configuration.
  const tenant = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";
  process.env.ENTRA_CLIENT_ID ??= "consent-test-client";
  process.env.ENTRA_TENANT_ID ??= tenant;
  return tenant;
});

const canRun = Boolean(process.env.DATABASE_URL);
const alice = { oid: "oid-alice", actor: "Alice Admin" };
const mallory = { oid: "oid-mallory", actor: "Mallory Admin" };

describe.skipIf(!canRun)("the admin-consent callback", () => {
  const created: string[] = [];
  afterAll(async () => {
    await db.connector.deleteMany({ where: { id: { in: created } } });
  });

  async function pendingConsent() {
    const draft = await acceptTerms(undefined, alice.actor);
    if (!draft.ok) throw new Error("draft not created");
    created.push(draft.connectorId);
    const url = new URL(await beginConsent(draft.connectorId, alice));
    return { connectorId: draft.connectorId, state: url.searchParams.get("state")! };
  }

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
    ["another tenant's GUID", "9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d"],
  ])("refuses %s as the tenant, records nothing and uses the state up", async (_, tenant) => {
    const { connectorId, state } = await pendingConsent();
    const callback = { state, admin_consent: "True", tenant };
    expect(await completeConsent(callback, alice)).toEqual({ kind: "refused", connectorId, reason: "wrong_tenant" });
    const row = await db.connector.findUniqueOrThrow({ where: { id: connectorId } });
    expect(row).toMatchObject({ tenantId: null, consentGrantedAt: null, consentState: null });
    expect(await completeConsent(callback, alice)).toEqual({ kind: "unknown-state" });
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
