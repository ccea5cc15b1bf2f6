// An app whose mail access comes from Exchange RBAC for Applications (docs/SETUP.md, option A: Entra
// grants User.Read.All only, Exchange grants Application Mail.ReadWrite on a management scope). Graph
// refuses a mailbox outside the scope with a bare 403 ErrorAccessDenied; it concerns that mailbox only.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ALICE, item, sandboxSettings } from "./test-items";
import { startM365Sandbox, type M365Sandbox } from "@/sandbox/m365";
import { batchingTransport } from "./batching";
import { createGraphTransport } from "./graph";
import { importMessage } from "./message";
import {
  createMailboxWriter,
  createScheduler,
  createTokenProvider,
  M365AuthError,
  MailboxUnavailableError,
  parseM365Settings,
  type M365SettingsInput,
} from "./index";

const caDir = process.env.M365_SANDBOX_CA_DIR;
const OUTSIDE = "otto@contoso.test";

describe.skipIf(!caDir || !process.env.NODE_EXTRA_CA_CERTS)("mail access through RBAC for Applications", () => {
  let sandbox: M365Sandbox;

  beforeAll(async () => {
    sandbox = await startM365Sandbox({
      caDir,
      consented: true,
      appRoles: ["User.Read.All"],
      rbacMailRole: true,
      mailboxes: [
        { address: ALICE, displayName: "Alice Archer" },
        { address: OUTSIDE, displayName: "Otto Outside", outsideRbacScope: true },
      ],
    });
  });
  afterAll(() => sandbox?.close());

  const settings = (): M365SettingsInput => sandboxSettings(sandbox);

  it("imports into the mailboxes of the scope and fails only the one outside it, naming the role assignment", async () => {
    const writer = createMailboxWriter({ settings: settings() });
    const alice = await writer.resolveMailbox(ALICE);
    const outside = await writer.resolveMailbox(OUTSIDE);
    if (!alice.found || !outside.found) throw new Error("both users are in the directory (User.Read.All)");

    const folderId = await writer.ensureSymphonyFolder(alice.userId);
    await writer.importMessage(alice.userId, folderId, item("in-scope"), { firstAttempt: true });
    expect(sandbox.items(ALICE)).toHaveLength(1);

    const refusal = await writer.ensureSymphonyFolder(outside.userId).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(MailboxUnavailableError);
    expect((refusal as MailboxUnavailableError).problem).toBe("access-policy");
    expect((refusal as Error).message).toMatch(
      /RBAC for Applications.*management scope.*Test-ServicePrincipalAuthorization/,
    );
    expect((refusal as Error).message).toContain("Access is denied. Check credentials and try again.");

    // The same refusal inside a $batch of creates (the create goes in a batch with the others) fails that item alone.
    const parsed = parseM365Settings(settings());
    const ctx = {
      graph: batchingTransport(createGraphTransport(parsed, createTokenProvider(parsed))),
      scheduler: createScheduler(),
    };
    const before = sandbox.stats();
    const [created, refused] = await Promise.allSettled([
      importMessage(ctx, alice.userId, folderId, item("batched"), { firstAttempt: true }),
      importMessage(ctx, outside.userId, folderId, item("batched-outside"), { firstAttempt: true }),
    ]);
    expect(created.status).toBe("fulfilled");
    const after = sandbox.stats();
    expect(after.graphRequests - before.graphRequests).toBeGreaterThan(after.httpRequests - before.httpRequests);
    expect(refused.status === "rejected" && refused.reason).toBeInstanceOf(MailboxUnavailableError);
    expect(sandbox.items(ALICE)).toHaveLength(2);
    expect(sandbox.items(OUTSIDE)).toEqual([]);
  });

  it("reads a bare 403 as mail access missing tenant-wide until a mailbox has answered the same roles", async () => {
    // Option A with the role assignment forgotten (or not in effect yet): every mailbox refuses.
    const unassigned = await startM365Sandbox({
      caDir,
      tenantId: randomUUID(),
      consented: true,
      appRoles: ["User.Read.All"],
      mailboxes: [{ address: ALICE, displayName: "Alice Archer" }],
    });
    try {
      const writer = createMailboxWriter({ settings: sandboxSettings(unassigned) });
      // Resolving the mailbox already reads its Inbox: refused, as the app's consent gone would be, but
      // the fix is the role assignment (or time), never Mail.ReadWrite in Entra, which opens every mailbox.
      const refusal = await writer.resolveMailbox(ALICE).catch((error: unknown) => error);
      expect(refusal).toBeInstanceOf(M365AuthError);
      expect(refusal).toMatchObject({ reason: "no-consent", exchangeRbac: true });
      expect((refusal as Error).message).toMatch(
        /RBAC for Applications.*role assignment is missing or not in effect yet.*30 minutes to 2 hours.*do not grant Mail\.ReadWrite in Entra.*application access policy \(option B\), grant Mail\.ReadWrite/,
      );
    } finally {
      await unassigned.close();
    }
  });

  it("still reads a bare 403 as consent gone when the token carries Entra's Mail.ReadWrite", async () => {
    const entra = await startM365Sandbox({
      caDir,
      consented: true,
      mailboxes: [{ address: ALICE, displayName: "Alice Archer" }],
    });
    try {
      const writer = createMailboxWriter({ settings: sandboxSettings(entra) });
      const alice = await writer.resolveMailbox(ALICE);
      if (!alice.found) throw new Error("Alice is in the directory");
      entra.setConsent(false);
      const refusal = await writer.ensureSymphonyFolder(alice.userId).catch((error: unknown) => error);
      expect(refusal).toBeInstanceOf(M365AuthError);
      expect(refusal).toMatchObject({ exchangeRbac: false });
      expect((refusal as Error).message).toMatch(/grant admin consent/);
    } finally {
      await entra.close();
    }
  });
});
