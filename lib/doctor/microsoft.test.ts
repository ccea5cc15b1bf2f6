import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { db } from "@/lib/db";
import { canRun, sandboxCaDir } from "@/lib/testing";
import { startM365Sandbox, type M365Sandbox } from "@/sandbox/m365";
import { freePort } from "@/sandbox/ports";
import { runDoctor, type DoctorSettings } from "./index";
import { checkOf, testSettings } from "./test-support";

// The Microsoft 365 checks against the sandbox's Entra ID and Graph: each failure made to happen and
// reported in plain words, never with a secret in them.
const OK = "ok@sandbox.onmicrosoft.com";
const BLOCKED = "blocked@sandbox.onmicrosoft.com";
const UNLICENSED = "unlicensed@sandbox.onmicrosoft.com";

function settingsFor(m365: M365Sandbox, change: Partial<DoctorSettings["m365"]> = {}): DoctorSettings {
  return testSettings(
    {
      tenantId: m365.tenantId,
      app: {
        clientId: m365.app.clientId,
        clientSecret: m365.app.clientSecret,
        authorityHost: m365.url,
        graphBaseUrl: m365.graphBaseUrl,
      },
      probeMailbox: OK,
      ...change,
    },
    "doctor-m365",
  );
}

const m365Ids = [
  "m365.redirects",
  "m365.token",
  "m365.roles",
  "m365.consent",
  "m365.mailbox",
  "m365.folder",
  "m365.clock",
];

describe.skipIf(!canRun)("doctor: Microsoft 365", () => {
  let m365: M365Sandbox;

  beforeAll(async () => {
    m365 = await startM365Sandbox({
      caDir: sandboxCaDir,
      consented: true,
      mailboxes: [
        { address: OK, displayName: "Olive Ok" },
        { address: BLOCKED, displayName: "Bob Blocked", appAccessBlocked: true },
        { address: UNLICENSED, displayName: "Una Unlicensed", mailboxEnabled: false },
      ],
    });
  });
  afterAll(() => m365?.close());

  it("reports every check ok for a working tenant, and creates Inbox/Symphony in the probe mailbox", async () => {
    const report = await runDoctor(settingsFor(m365), { connectorIds: [] });
    const m365Group = report.groups.find((group) => group.id === "m365")!;
    expect(m365Group.title).toBe("Microsoft 365");
    expect(m365Group.checks.map((c) => c.id)).toEqual(m365Ids);
    expect(m365Group.checks.map((c) => [c.id, c.status])).toEqual([
      ["m365.redirects", "ok"],
      ["m365.token", "ok"],
      ["m365.roles", "ok"],
      ["m365.consent", "skipped"],
      ["m365.mailbox", "ok"],
      ["m365.folder", "ok"],
      ["m365.clock", "ok"],
    ]);
    expect(checkOf(report, "m365.token").title).toBe("Entra ID token (worldwide cloud)");
    expect(checkOf(report, "m365.token").detail).toContain(`issued an app-only token to app ${m365.app.clientId}`);
    expect(checkOf(report, "m365.roles").detail).toMatch(/Mail\.ReadWrite and User\.Read\.All/);
    expect(checkOf(report, "m365.consent").detail).toMatch(/No connector has been set up yet/);
    expect(checkOf(report, "m365.mailbox").detail).toContain(`Found ${OK}`);
    expect(checkOf(report, "m365.folder").detail).toMatch(/Inbox\/Symphony is in place/);
    expect(m365.items(OK)).toEqual([]);
    expect(report.groups.find((group) => group.id === "storage")!.checks.map((c) => c.status)).toEqual([
      "ok",
      "ok",
      "ok",
    ]);
    expect(report.ok).toBe(true);

    // Idempotent: a second run finds the folder it made.
    const again = await runDoctor(settingsFor(m365), { connectorIds: [] });
    expect(checkOf(again, "m365.folder").status).toBe("ok");
  });

  it("signs in with the app's certificate too", async () => {
    const report = await runDoctor(
      settingsFor(m365, {
        app: {
          clientId: m365.app.clientId,
          certificate: { certificatePem: m365.app.certificatePem, privateKeyPem: m365.app.privateKeyPem },
          authorityHost: m365.url,
          graphBaseUrl: m365.graphBaseUrl,
        },
      }),
      { connectorIds: [] },
    );
    expect(checkOf(report, "m365.token")).toMatchObject({
      status: "ok",
      detail: expect.stringContaining("with its certificate") as unknown,
    });
  });

  it("says plainly that the client secret is wrong, and checks nothing that needs a token", async () => {
    const wrong = `wrong-${randomUUID()}`;
    const settings = settingsFor(m365);
    const report = await runDoctor(
      { ...settings, m365: { ...settings.m365, app: { ...settings.m365.app, clientSecret: wrong } } },
      { connectorIds: [] },
    );
    const token = checkOf(report, "m365.token");
    expect(token.status).toBe("fail");
    expect(token.detail).toBe("Entra ID refused the app's client secret (AADSTS7000215).");
    expect(token.fix).toMatch(/Certificates & secrets into ENTRA_CLIENT_SECRET/);
    for (const id of ["m365.roles", "m365.mailbox", "m365.folder"]) {
      expect(checkOf(report, id)).toMatchObject({
        status: "skipped",
        detail: "No token: see the Entra ID token check.",
      });
    }
    expect(report.ok).toBe(false);
    expect(JSON.stringify(report)).not.toContain(wrong);
    expect(JSON.stringify(report)).not.toContain(m365.app.clientSecret);
  });

  it("names an unknown tenant", async () => {
    const other = randomUUID();
    const report = await runDoctor(settingsFor(m365, { tenantId: other }), { connectorIds: [] });
    expect(checkOf(report, "m365.token")).toMatchObject({
      status: "fail",
      detail: expect.stringContaining(`does not know tenant ${other}`) as unknown,
      fix: expect.stringContaining("ENTRA_TENANT_ID") as unknown,
    });
  });

  it("says when Entra ID cannot be reached, and why", async () => {
    const closed = await freePort();
    const settings = settingsFor(m365);
    const report = await runDoctor(
      {
        ...settings,
        m365: { ...settings.m365, app: { ...settings.m365.app, authorityHost: `https://127.0.0.1:${closed}` } },
      },
      { connectorIds: [] },
    );
    expect(checkOf(report, "m365.token")).toMatchObject({
      status: "fail",
      detail: `Entra ID at https://127.0.0.1:${closed} cannot be reached: nothing accepts connections there.`,
    });
  });

  it("says when the Graph endpoint belongs to another cloud than the tenant's", async () => {
    const settings = settingsFor(m365, { cloud: "usgov-l4" });
    const report = await runDoctor(
      {
        ...settings,
        m365: { ...settings.m365, app: { ...settings.m365.app, graphBaseUrl: "https://graph.microsoft.us" } },
      },
      { connectorIds: [] },
    );
    const token = checkOf(report, "m365.token");
    expect(token.title).toBe("Entra ID token (US Government L4 (GCC High))");
    expect(token.status).toBe("fail");
    expect(token.detail).toContain("Entra ID has no Microsoft Graph at https://graph.microsoft.us");
    expect(token.detail).toContain("another cloud than the tenant's");
    expect(token.fix).toMatch(/^Set M365_CLOUD to the tenant's cloud/);
  });

  it("reports the variable that is missing", async () => {
    const report = await runDoctor(settingsFor(m365, { app: { error: "ENTRA_CLIENT_ID is not set." } }), {
      connectorIds: [],
    });
    expect(checkOf(report, "m365.token")).toMatchObject({ status: "fail", detail: "ENTRA_CLIENT_ID is not set." });
  });

  describe("without admin consent", () => {
    afterAll(() => m365.setConsent(true));

    it("says the token carries no permission, that consent may still be propagating, and what Graph refused", async () => {
      m365.setConsent(false);
      const report = await runDoctor(settingsFor(m365), { connectorIds: [] });
      expect(checkOf(report, "m365.token").status).toBe("ok");
      const roles = checkOf(report, "m365.roles");
      expect(roles.status).toBe("fail");
      expect(roles.detail).toMatch(/carries no application permission \(its roles claim is empty\)/);
      expect(roles.detail).toMatch(/still propagating/);
      expect(roles.fix).toMatch(/Grant admin consent/);
      expect(checkOf(report, "m365.mailbox")).toMatchObject({
        status: "fail",
        detail: expect.stringMatching(
          /did not let the app read the directory or the mailbox: the app has no permission/,
        ) as unknown,
      });
      expect(checkOf(report, "m365.folder").status).toBe("skipped");
    });
  });

  it("says which permission the token lacks", async () => {
    const partial = await startM365Sandbox({
      caDir: sandboxCaDir,
      consented: true,
      appRoles: ["Mail.ReadWrite"],
      mailboxes: [{ address: OK, displayName: "Olive Ok" }],
    });
    try {
      const report = await runDoctor(settingsFor(partial), { connectorIds: [] });
      expect(checkOf(report, "m365.roles")).toMatchObject({
        status: "fail",
        detail: expect.stringMatching(/lacks User\.Read\.All \(it has Mail\.ReadWrite\).*propagating/) as unknown,
      });
    } finally {
      await partial.close();
    }
  });

  it("names a mailbox outside the application access policy", async () => {
    const report = await runDoctor(settingsFor(m365, { probeMailbox: BLOCKED }), { connectorIds: [] });
    const mailbox = checkOf(report, "m365.mailbox");
    expect(mailbox.status).toBe("fail");
    expect(mailbox.detail).toContain(`refuses the app ${BLOCKED}'s mailbox`);
    expect(mailbox.detail).toMatch(/outside the scope of the tenant's application access policy/);
    expect(mailbox.fix).toMatch(/New-ApplicationAccessPolicy/);
    expect(checkOf(report, "m365.folder")).toMatchObject({
      status: "skipped",
      detail: "No mailbox to try it in: see the mailbox probe.",
    });
  });

  it("names a user without a mailbox, and an address nobody has", async () => {
    const unlicensed = await runDoctor(settingsFor(m365, { probeMailbox: UNLICENSED }), { connectorIds: [] });
    expect(checkOf(unlicensed, "m365.mailbox")).toMatchObject({
      status: "fail",
      detail: expect.stringContaining(
        `${UNLICENSED} (DOCTOR_PROBE_MAILBOX) is in the directory but has no Exchange Online mailbox`,
      ) as unknown,
    });
    const nobody = await runDoctor(settingsFor(m365, { probeMailbox: "nobody@sandbox.onmicrosoft.com" }), {
      connectorIds: [],
    });
    expect(checkOf(nobody, "m365.mailbox")).toMatchObject({
      status: "fail",
      detail: expect.stringContaining(
        "No user of the directory has the address nobody@sandbox.onmicrosoft.com",
      ) as unknown,
      fix: "Correct DOCTOR_PROBE_MAILBOX.",
    });
  });

  it("probes the directory's first user with a mail address when no mailbox is named", async () => {
    const report = await runDoctor(settingsFor(m365, { probeMailbox: undefined }), { connectorIds: [] });
    expect(checkOf(report, "m365.mailbox").detail).toMatch(/the directory's first user with a mail address/);
  });

  it("warns when Graph's clock and ours differ", async () => {
    const skewed = await startM365Sandbox({
      caDir: sandboxCaDir,
      consented: true,
      clockSkewSeconds: 75,
      mailboxes: [{ address: OK, displayName: "Olive Ok" }],
    });
    try {
      const report = await runDoctor(settingsFor(skewed), { connectorIds: [] });
      expect(checkOf(report, "m365.clock")).toMatchObject({
        status: "warn",
        detail: expect.stringMatching(/^This server's clock is 7[45] seconds behind Microsoft Graph's\./) as unknown,
        fix: expect.stringContaining("NTP") as unknown,
      });
    } finally {
      await skewed.close();
    }
  });

  describe("with connectors", () => {
    const ids: string[] = [];
    afterAll(async () => {
      await db.connector.deleteMany({ where: { id: { in: ids } } });
    });

    async function connector(data: { tenantId?: string; consent: boolean; fallbackMailbox?: string }) {
      const row = await db.connector.create({
        data: {
          name: `doctor-consent-${randomUUID().slice(0, 8)}`,
          status: "ACTIVE",
          createdBy: "test",
          fallbackMailbox: data.fallbackMailbox,
          ...(data.consent
            ? {
                tenantId: data.tenantId ?? m365.tenantId,
                consentGrantedBy: "admin@test",
                consentGrantedAt: new Date("2026-01-02"),
              }
            : {}),
        },
      });
      ids.push(row.id);
      return row;
    }

    it("sees consent recorded, and probes the connector's fallback mailbox", async () => {
      const row = await connector({ consent: true, fallbackMailbox: OK });
      const report = await runDoctor(settingsFor(m365, { probeMailbox: undefined }), { connectorIds: [row.id] });
      expect(checkOf(report, "m365.consent")).toMatchObject({
        status: "ok",
        detail: `Recorded for "${row.name}" by admin@test on 2026-01-02.`,
      });
      expect(checkOf(report, "m365.mailbox").detail).toBe(
        `Found ${OK} (a connector's mapping) in the directory and read its Inbox.`,
      );
    });

    it("fails a connector without consent, or with consent in another tenant", async () => {
      const missing = await connector({ consent: false });
      const elsewhere = await connector({ consent: true, tenantId: randomUUID() });
      const report = await runDoctor(settingsFor(m365), { connectorIds: [missing.id] });
      expect(checkOf(report, "m365.consent")).toMatchObject({
        status: "fail",
        detail: `No admin consent is recorded for "${missing.name}": imports cannot run.`,
      });
      const other = await runDoctor(settingsFor(m365), { connectorIds: [elsewhere.id] });
      expect(checkOf(other, "m365.consent").detail).toContain(`"${elsewhere.name}" recorded consent in another tenant`);
    });

    it("says when consent is recorded but Entra ID no longer grants the permissions", async () => {
      const row = await connector({ consent: true });
      m365.setConsent(false);
      try {
        const report = await runDoctor(settingsFor(m365), { connectorIds: [row.id] });
        expect(checkOf(report, "m365.consent")).toMatchObject({
          status: "fail",
          detail: expect.stringMatching(
            /but Entra ID now issues tokens without permissions: the consent was revoked/,
          ) as unknown,
        });
      } finally {
        m365.setConsent(true);
      }
    });
  });
});
