import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ALICE, bytesAttachment, item, sha256, sandboxSettings } from "./test-items";
import { buildEmail, buildMime, readStagedMime, toGraphMessage } from "@/lib/convert";
import { startM365Sandbox, type M365Sandbox } from "@/sandbox/m365";
import { createGraphTransport } from "./graph";
import { createBody, importMessage } from "./message";
import {
  createMailboxWriter,
  createScheduler,
  createTokenProvider,
  GraphRetriesExhaustedError,
  ITEM_KEY_PROPERTY,
  M365AuthError,
  MailboxUnavailableError,
  parseM365Settings as parseSettings,
  type ImportAttachment,
  type ImportItem,
  type M365SettingsInput,
} from "./index";

const caDir = process.env.M365_SANDBOX_CA_DIR;
const BOB = "bob@contoso.test";
const CAROL = "carol@contoso.test";
/** In the directory without an Exchange Online mailbox (unlicensed, on-premises or guest). */
const DAVE = "dave@contoso.test";
/** Outside the tenant's application access policy. */
const ERIN = "erin@contoso.test";
const FRANK = "frank@contoso.test";
const MB = 1024 * 1024;

// The sandbox serves TLS from a local CA that this process must trust from its start (vitest's
// globalSetup sets NODE_EXTRA_CA_CERTS before forking workers).
describe.skipIf(!caDir || !process.env.NODE_EXTRA_CA_CERTS)("Microsoft 365 writer against the sandbox", () => {
  let sandbox: M365Sandbox;

  beforeAll(async () => {
    sandbox = await startM365Sandbox({
      caDir,
      consented: true,
      mailboxes: [
        { address: ALICE, displayName: "Alice Archer", aliases: ["a.archer@contoso.test"] },
        { address: BOB, displayName: "Bob Baker" },
        { address: CAROL, displayName: "Carol Clark" },
        { address: DAVE, displayName: "Dave Guest", mailboxEnabled: false },
        { address: ERIN, displayName: "Erin Elsewhere", appAccessBlocked: true },
        { address: FRANK, displayName: "Frank Full" },
      ],
    });
  });
  afterAll(() => sandbox?.close());
  beforeEach(() => {
    sandbox.reset();
    sandbox.setConsent(true);
    sandbox.setFaults({ serviceUnavailableShare: 0, latencyMs: 0, retryAfterSeconds: 1, lostCreateShare: 0 });
    sandbox.setLimits({ concurrentRequests: 4, requestsPerWindow: 10_000, requestWindowMs: 600_000 });
    for (const address of [ALICE, BOB, CAROL, FRANK])
      sandbox.setMailbox(address, { full: false, maxReceiveSize: 36 * MB });
  });

  const secretSettings = (): M365SettingsInput => sandboxSettings(sandbox);
  const writer = (options: { settings?: M365SettingsInput; scheduler?: ReturnType<typeof createScheduler> } = {}) =>
    createMailboxWriter({ settings: options.settings ?? secretSettings(), scheduler: options.scheduler });

  const certificateSettings = (certificate: { certificatePem?: string; thumbprint?: string }): M365SettingsInput => ({
    ...secretSettings(),
    clientSecret: undefined,
    certificate: { ...certificate, privateKeyPem: sandbox.app.privateKeyPem },
  });
  const token = (settings: M365SettingsInput) => createTokenProvider(parseSettings(settings)).getAccessToken();

  describe("tokens and consent", () => {
    it("gets an app-only token with the client secret and with the certificate", async () => {
      const tokens = [
        await token(secretSettings()),
        await token(certificateSettings({ certificatePem: sandbox.app.certificatePem })),
        await token(certificateSettings({ thumbprint: sandbox.app.thumbprint })),
      ];
      for (const accessToken of tokens) {
        expect(claims(accessToken)).toMatchObject({
          tid: sandbox.tenantId,
          appid: sandbox.app.clientId,
          aud: "https://graph.microsoft.com",
        });
      }
      // And Graph accepts it: the mailbox resolves through the certificate-authenticated writer.
      const lookup = await writer({
        settings: certificateSettings({ certificatePem: sandbox.app.certificatePem }),
      }).resolveMailbox(ALICE);
      expect(lookup.found).toBe(true);
    });

    it("rejects a wrong secret with a reason and without echoing the secret", async () => {
      const wrong = `${sandbox.app.clientSecret}-wrong`;
      const error = await token({ ...secretSettings(), clientSecret: wrong }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(M365AuthError);
      expect((error as M365AuthError).reason).toBe("invalid-credentials");
      expect((error as M365AuthError).message).toContain("7000215");
      expect((error as M365AuthError).message).not.toContain(wrong);
    });

    it("says admin consent is missing when the tenant has not consented", async () => {
      sandbox.setConsent(false);
      const error = await writer()
        .resolveMailbox(ALICE)
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(M365AuthError);
      expect((error as M365AuthError).reason).toBe("no-consent");
      expect((error as M365AuthError).message).toMatch(/admin consent/);
    });

    it("on a 403 gets a fresh token once before calling it missing consent: a token keeps the roles it was issued with", async () => {
      sandbox.setConsent(false);
      const w = writer();
      await expect(w.resolveMailbox(ALICE)).rejects.toMatchObject({ reason: "no-consent" });
      // Consent given since: the writer's token (no roles) is refused, a new one works.
      sandbox.setConsent(true);
      const tokensBefore = sandbox.stats().tokensIssued;
      await expect(w.resolveMailbox(ALICE)).resolves.toMatchObject({ found: true });
      expect(sandbox.stats().tokensIssued).toBe(tokensBefore + 1);
    });
  });

  describe("mailboxes and the Symphony folder", () => {
    it("resolves by UPN and by alias, and reports an unknown address as a skip reason", async () => {
      const w = writer();
      const byUpn = await w.resolveMailbox(ALICE);
      const byAlias = await w.resolveMailbox("A.Archer@contoso.test");
      expect(byUpn).toMatchObject({ found: true, primaryAddress: ALICE });
      // Found by an alias, the mailbox still shows its primary SMTP address.
      expect(byAlias).toEqual({ ...byUpn, address: "a.archer@contoso.test" });
      expect(await w.resolveMailbox("nobody@contoso.test")).toEqual({
        found: false,
        address: "nobody@contoso.test",
        reason: "mailbox not found",
      });
    });

    it("creates Inbox/Symphony once when five imports race from separate writers", async () => {
      const userId = await resolve(writer(), BOB);
      const results = await Promise.all(
        Array.from({ length: 5 }, async (_, n) => {
          const w = writer();
          const folderId = await w.ensureSymphonyFolder(userId);
          return { folderId, result: await w.importMessage(userId, folderId, item(`race-${n}`)) };
        }),
      );
      expect(new Set(results.map((r) => r.folderId)).size).toBe(1);
      const items = sandbox.items(BOB)!;
      expect(new Set(items.map((i) => i.folder))).toEqual(new Set(["Inbox/Symphony"]));
      expect(items).toHaveLength(5);
    });
  });

  it("makes Inbox/Symphony again when the user deleted it during the run: one attempt fails, the next imports", async () => {
    const w = writer();
    const userId = await resolve(w, CAROL);
    const first = await w.ensureSymphonyFolder(userId);
    await w.importMessage(userId, first, item("before-delete"));
    sandbox.deleteInboxFolder(CAROL, "Symphony");
    await expect(w.importMessage(userId, first, item("after-delete"))).rejects.toMatchObject({ status: 404 });
    const again = await w.ensureSymphonyFolder(userId);
    expect(again).not.toBe(first);
    await w.importMessage(userId, again, item("after-delete"));
    expect(sandbox.items(CAROL)!.map((i) => [i.folder, i.subject])).toEqual([
      ["Inbox/Symphony", "Subject after-delete"],
    ]);
  });

  describe("mailboxes Microsoft 365 refuses", () => {
    const refusal = async (promise: Promise<unknown>) => {
      const error = await promise.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(MailboxUnavailableError);
      return error as MailboxUnavailableError;
    };

    it("reports a directory user without a mailbox (404 MailboxNotEnabledForRESTAPI) as not found, with that reason", async () => {
      const lookup = await writer().resolveMailbox(DAVE);
      expect(lookup).toMatchObject({ found: false, address: DAVE });
      expect(!lookup.found && lookup.reason).toMatch(/no Exchange Online mailbox.*MailboxNotEnabledForRESTAPI/);
    });

    it("finds a user's mailbox licensed after a first lookup, once that lookup's time is over", async () => {
      const w = createMailboxWriter({ settings: secretSettings(), lookupTtlMs: 300 });
      expect(await w.resolveMailbox(DAVE)).toMatchObject({ found: false });
      sandbox.setMailbox(DAVE, { mailboxEnabled: true });
      try {
        expect(await w.resolveMailbox(DAVE)).toMatchObject({ found: false }); // kept meanwhile
        await new Promise((resolve) => setTimeout(resolve, 350));
        expect(await w.resolveMailbox(DAVE)).toMatchObject({ found: true, primaryAddress: DAVE });
      } finally {
        sandbox.setMailbox(DAVE, { mailboxEnabled: false });
      }
    });

    it("refuses only the mailbox outside the app access policy, naming the policy and the fix; others work", async () => {
      const w = writer();
      const erin = await resolve(w, ERIN);
      const error = await refusal(w.ensureSymphonyFolder(erin));
      expect(error.problem).toBe("access-policy");
      expect(error.message).toMatch(/application access policy.*Add the mailbox to the policy's scope/s);
      expect(error.message).toContain("Access to OData is disabled.");
      const alice = await resolve(w, ALICE);
      await w.importMessage(alice, await w.ensureSymphonyFolder(alice), item("after-refusal"), { firstAttempt: true });
      expect(sandbox.items(ALICE)).toHaveLength(1);
    });

    it.each([
      ["403 ErrorQuotaExceeded", "ErrorQuotaExceeded", /^The mailbox is full .*Graph 403 ErrorQuotaExceeded\)$/],
      [
        "507 QuotaExceededException",
        "QuotaExceededException",
        /^The mailbox is over a quota: its storage quota, or its quota of named properties\..*Graph 507 QuotaExceededException: Target mailbox quota exceeded\.\)$/,
      ],
    ] as const)("fails an item of a full mailbox with %s's reason, at once", async (_, fullAnswer, reason) => {
      const w = writer();
      const frank = await resolve(w, FRANK);
      const folderId = await w.ensureSymphonyFolder(frank);
      sandbox.setMailbox(FRANK, { full: true, fullAnswer });
      try {
        const before = sandbox.stats().httpRequests;
        const error = await refusal(
          w.importMessage(frank, folderId, item(`full-${fullAnswer}`), { firstAttempt: true }),
        );
        expect(error.problem).toBe("mailbox-full");
        expect(error.message).toMatch(reason);
        // A full mailbox is no server error to wait out: one create, not retried.
        expect(sandbox.stats().httpRequests - before).toBe(1);
      } finally {
        sandbox.setMailbox(FRANK, { full: false, fullAnswer: "ErrorQuotaExceeded" }); // reset() keeps mailbox policies
      }
    });

    /** Carol's user id and Symphony folder, and a Graph context to import with importMessage alone (no writer's checks). */
    async function carolWithoutWriter() {
      const settings = parseSettings(secretSettings());
      const ctx = {
        graph: createGraphTransport(settings, createTokenProvider(settings)),
        scheduler: createScheduler(),
      };
      const w = writer();
      const carol = await resolve(w, CAROL);
      return { ctx, carol, folderId: await w.ensureSymphonyFolder(carol) };
    }

    it("refuses before creating anything a message over the mailbox's MaxReceiveSize, naming the limit and Set-Mailbox", async () => {
      expect(sandbox.mailboxes().find((u) => u.mail === ALICE)?.policy.maxReceiveSize).toBe(36 * MB);
      sandbox.setMailbox(CAROL, { maxReceiveSize: 5 * MB });
      const w = writer();
      const carol = await resolve(w, CAROL);
      const folderId = await w.ensureSymphonyFolder(carol);
      // 4 MB of attachment is about 5.3 MB once base64-encoded in the message.
      const big = { attachments: [smallAttachment("big.bin", 4 * MB)] };
      const error = await refusal(w.importMessage(carol, folderId, item("too-big", big), { firstAttempt: true }));
      expect(error.problem).toBe("too-large");
      expect(error.message).toMatch(/maximum receive size of 5 MB.*Set-Mailbox <mailbox> -MaxReceiveSize .*150 MB/);
      expect(sandbox.items(CAROL)).toEqual([]);
      // Under the limit it goes through.
      await w.importMessage(carol, folderId, item("fits", { attachments: [smallAttachment("ok.bin", 3 * MB)] }), {
        firstAttempt: true,
      });
      expect(sandbox.items(CAROL)).toHaveLength(1);
    });

    it("without a mail tip, refuses before creating anything a message over Exchange Online's 150 MB ceiling", async () => {
      const { ctx, carol, folderId } = await carolWithoutWriter();
      const huge: ImportAttachment = {
        name: "huge.bin",
        contentType: "application/octet-stream",
        size: 151 * MB,
        isInline: false,
        open: () => {
          throw new Error("the file must not be read: the message is refused first");
        },
      };
      const error = await refusal(
        importMessage(ctx, carol, folderId, item("over-ceiling", { attachments: [huge] }), {
          firstAttempt: true,
          maxMessageSize: () => Promise.resolve(undefined),
        }),
      );
      expect(error.problem).toBe("too-large");
      expect(error.message).toMatch(/150 MB/);
      expect(sandbox.items(CAROL)).toEqual([]);
    });

    it("fails for good a file Exchange refuses as it uploads (ErrorMessageSizeExceeded), leaving no message without it", async () => {
      sandbox.setMailbox(CAROL, { maxReceiveSize: 5 * MB });
      const { ctx, carol, folderId } = await carolWithoutWriter();
      const big = { attachments: [smallAttachment("big.bin", 4 * MB)] };
      const before = sandbox.stats().httpRequests;
      const error = await refusal(importMessage(ctx, carol, folderId, item("unchecked", big), { firstAttempt: true }));
      expect(error.problem).toBe("too-large");
      expect(error.message).toMatch(/Graph 400 ErrorMessageSizeExceeded/);
      // One session, not restarted: the refusal is the mailbox's, not the session's.
      expect(sandbox.stats().httpRequests - before).toBeLessThan(8);
      expect(sandbox.items(CAROL)!.map(keyOf)).not.toContain("unchecked");
    });
  });

  describe("importing items", () => {
    it("creates a received, non-draft message with its times, sender and recipients, found again by key", async () => {
      const w = writer();
      const userId = await resolve(w, ALICE);
      const folderId = await w.ensureSymphonyFolder(userId);
      const sent = "2024-03-05T09:15:27Z";
      const result = await w.importMessage(userId, folderId, item("key-times", { time: sent }), { firstAttempt: true });
      expect(result).toMatchObject({ existing: false, requests: 1 });

      const [stored] = sandbox.items(ALICE)!;
      expect(stored).toMatchObject({
        id: result.graphMessageId,
        folder: "Inbox/Symphony",
        isDraft: false,
        isRead: true,
        receivedDateTime: sent,
        sentDateTime: sent,
        from: "sender@contoso.test",
        subject: "Subject key-times",
      });
      const graphMessage = (await (await graphGet(`/users/${userId}/messages/${result.graphMessageId}`)).json()) as {
        toRecipients: Array<{ emailAddress: { name: string; address: string } }>;
      };
      expect(graphMessage.toRecipients).toEqual([{ emailAddress: { name: "Alice Archer", address: ALICE } }]);
      expect(stored?.extendedProperties).toContainEqual({ id: ITEM_KEY_PROPERTY, value: "key-times" });
      expect(await w.findByKey(userId, "key-times")).toBe(result.graphMessageId);
      expect(await w.findByKey(userId, "key-other")).toBeUndefined();
    });

    it("an item imported from its staged MIME carries its X-Symphony-* headers, readable via Graph", async () => {
      const email = buildEmail({
        messageId: "kS6Pv+8mHq3/Xy2Wn1bL4Q==",
        streamId: "iWyZBIOdQQzQj0tKOLRivX___qu6YeyZdA",
        streamType: "ROOM",
        timestamp: new Date("2024-03-05T09:15:27Z"),
        sender: { userId: "1001", email: "sender@contoso.test", displayName: "Sender" },
        participants: [{ userId: "1002", email: ALICE, displayName: "Alice Archer" }],
        presentationML: '<div data-format="PresentationML" data-version="2.0">Hello</div>',
        attachments: [],
      });
      const mime = Buffer.concat(await buildMime(email, []).toArray());
      // As lib/pipeline's stagedImportItem rebuilds it from the blob.
      const { email: read } = await readStagedMime(() => Readable.from([mime]));
      const staged: ImportItem = { key: "key-headers", graph: toGraphMessage(read), attachments: [] };
      const w = writer();
      const userId = await resolve(w, ALICE);
      const folderId = await w.ensureSymphonyFolder(userId);
      const { graphMessageId } = await w.importMessage(userId, folderId, staged, { firstAttempt: true });

      const selected = (await (
        await graphGet(`/users/${userId}/messages/${graphMessageId}?$select=internetMessageHeaders`)
      ).json()) as { internetMessageHeaders: Array<{ name: string; value: string }> };
      expect(selected.internetMessageHeaders).toContainEqual({
        name: "X-Symphony-Stream-Id",
        value: "iWyZBIOdQQzQj0tKOLRivX___qu6YeyZdA",
      });
      expect(selected.internetMessageHeaders.map((h) => h.name)).toEqual([
        "X-Symphony-Message-Id",
        "X-Symphony-Stream-Id",
        "X-Symphony-Sender-Id",
        "X-Symphony-From-Address",
        "X-Symphony-Stream-Type",
      ]);
    });

    it("after a crash between Graph's create and the ledger, a retry completes the same message", async () => {
      const w = writer();
      const userId = await resolve(w, ALICE);
      const folderId = await w.ensureSymphonyFolder(userId);
      const attachments = [
        smallAttachment("a.txt", 1000),
        smallAttachment("b.bin", 200_000),
        smallAttachment("c.bin", 300_000),
      ];
      const crashed = item("key-crash", { attachments });
      // The earlier attempt: the create went through (with no attachments yet), then the worker died.
      const graph = createGraphTransport(
        parseSettings(secretSettings()),
        createTokenProvider(parseSettings(secretSettings())),
      );
      const created = await graph({
        method: "POST",
        path: `/users/${userId}/mailFolders/${folderId}/messages`,
        body: createBody(crashed.graph, crashed.key),
      });
      expect(created.status).toBe(201);

      const retry = await w.importMessage(userId, folderId, crashed);
      const again = await w.importMessage(userId, folderId, crashed);
      expect(retry).toMatchObject({ existing: true, graphMessageId: (created.body as { id: string }).id });
      expect(again).toMatchObject({ existing: true, graphMessageId: retry.graphMessageId });
      const items = sandbox.items(ALICE)!;
      expect(items).toHaveLength(1);
      expect(items[0]?.attachments.map((a) => a.name).sort()).toEqual(["a.txt", "b.bin", "c.bin"]);
      await expectSameBytes(userId, retry.graphMessageId, attachments);
    });

    it("removes the second copy a retried create leaves when the first create timed out (504) but landed", async () => {
      const w = writer({ scheduler: createScheduler({ backoff: { baseMs: 5, maxMs: 10 } }) });
      const userId = await resolve(w, ALICE);
      const folderId = await w.ensureSymphonyFolder(userId);
      // One attachment travels in the create, the other is added afterwards: to the copy that stays.
      const attachments = [smallAttachment("in-create.txt", 1000), smallAttachment("added.bin", 2_500_000)];
      sandbox.setFaults({ lostCreateShare: 1, lostCreateLandsAfterMs: 600_000 });
      const result = await w.importMessage(userId, folderId, item("key-late", { attachments }), { firstAttempt: true });

      expect(sandbox.stats().lostCreates).toBe(1);
      expect(result).toMatchObject({ existing: false, duplicatesRemoved: 1 });
      const copies = sandbox.items(ALICE)!.filter((i) => i.extendedProperties.some((p) => p.value === "key-late"));
      expect(copies.map((copy) => copy.id)).toEqual([result.graphMessageId]);
      expect(copies[0]?.attachments.map((a) => a.name).sort()).toEqual(["added.bin", "in-create.txt"]);
      await expectSameBytes(userId, result.graphMessageId, attachments);
    });

    it("uploads a 12 MB attachment through an upload session, byte-identical, next to small ones", async () => {
      const w = writer();
      const userId = await resolve(w, CAROL);
      const folderId = await w.ensureSymphonyFolder(userId);
      const attachments = [
        bytesAttachment("big.bin", randomBytes(12 * 1024 * 1024 + 12_345)),
        ...Array.from({ length: 5 }, (_, n) => smallAttachment(`small-${n}.bin`, 900_000)),
        { ...smallAttachment("logo.png", 5000), isInline: true, contentId: "logo@symphony" },
      ];
      const result = await w.importMessage(userId, folderId, item("key-big", { attachments }), { firstAttempt: true });
      const [stored] = sandbox.items(CAROL)!;
      expect(stored?.attachments).toHaveLength(attachments.length);
      expect(stored?.attachments.find((a) => a.name === "logo.png")).toMatchObject({
        isInline: true,
        contentId: "logo@symphony",
      });
      await expectSameBytes(userId, result.graphMessageId, attachments);
      // create (+2 small inside it) + a $batch of 2 + a $batch of 2 + session + 4 chunks: fewer requests than items sent.
      expect(result.requests).toBeLessThan(attachments.length + 1 + 4 + 1);
    });

    it("builds a message's create request once for all its mailboxes, each getting every file", async () => {
      const w = writer();
      const files = [randomBytes(200_000), randomBytes(3000)].map((bytes, n) =>
        bytesAttachment(`file-${n}.bin`, bytes),
      );
      let opened = 0;
      const shared = item("key-shared", {
        attachments: files.map((file) => ({ ...file, open: () => (opened++, file.open()) })),
      });
      const imported: Array<[string, string]> = [];
      for (const address of [ALICE, BOB, CAROL]) {
        const userId = await resolve(w, address);
        const folderId = await w.ensureSymphonyFolder(userId);
        imported.push([
          userId,
          (await w.importMessage(userId, folderId, shared, { firstAttempt: true })).graphMessageId,
        ]);
      }
      // Each file read once, not once per mailbox.
      expect(opened).toBe(files.length);
      for (const [userId, messageId] of imported) await expectSameBytes(userId, messageId, files);
    });
  });

  describe("throttling", () => {
    it("lands every item exactly once through 20% 503s and 429s from a request budget", async () => {
      sandbox.setFaults({ serviceUnavailableShare: 0.2, retryAfterSeconds: 0 });
      sandbox.setLimits({ requestsPerWindow: 10, requestWindowMs: 1000 });
      const scheduler = createScheduler({ backoff: { baseMs: 20, maxMs: 200 }, maxAttempts: 12 });
      const w = writer({ scheduler });
      const mailboxes = [ALICE, BOB, CAROL];
      await Promise.all(
        mailboxes.map(async (address) => {
          const userId = await resolve(w, address);
          const folderId = await w.ensureSymphonyFolder(userId);
          await Promise.all(
            Array.from({ length: 12 }, (_, n) =>
              w.importMessage(
                userId,
                folderId,
                item(`${address}-${n}`, { attachments: n % 3 === 0 ? [smallAttachment("x.bin", 10_000)] : [] }),
              ),
            ),
          );
        }),
      );
      const stats = sandbox.stats();
      expect(stats.serviceUnavailable).toBeGreaterThan(0);
      expect(stats.throttled.requests).toBeGreaterThan(0);
      expect(stats.throttled.concurrency).toBe(0);
      expect(scheduler.counters()).toMatchObject({ exhausted: 0 });
      expect(scheduler.counters().throttled).toBe(stats.throttled.requests);
      for (const address of mailboxes) {
        const keys = sandbox.items(address)!.map(keyOf);
        expect(keys.sort()).toEqual(Array.from({ length: 12 }, (_, n) => `${address}-${n}`).sort());
        const withAttachment = sandbox.items(address)!.filter((i) => i.attachments.length > 0);
        expect(withAttachment.map((i) => i.attachments.length)).toEqual([1, 1, 1, 1]);
      }
    });

    it("waits out Retry-After, then gives up with a typed error after the last attempt", async () => {
      const scheduler = createScheduler({ maxAttempts: 2 });
      const w = writer({ scheduler });
      const userId = await resolve(w, ALICE);
      const folderId = await w.ensureSymphonyFolder(userId);
      sandbox.setFaults({ serviceUnavailableShare: 1, retryAfterSeconds: 1 });
      const started = Date.now();
      const error = await w
        .importMessage(userId, folderId, item("key-unavailable"), { firstAttempt: true })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(GraphRetriesExhaustedError);
      expect(error).toMatchObject({ attempts: 2, lastStatus: 503 });
      expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
      expect(sandbox.items(ALICE)).toHaveLength(0);
    });

    it("keeps at most 4 requests in flight per mailbox, $batch sub-requests included", async () => {
      sandbox.setFaults({ latencyMs: 15 });
      const scheduler = createScheduler();
      const w = writer({ scheduler });
      const userId = await resolve(w, BOB);
      const folderId = await w.ensureSymphonyFolder(userId);
      await Promise.all(
        Array.from({ length: 30 }, (_, n) =>
          w.importMessage(
            userId,
            folderId,
            item(`busy-${n}`, {
              attachments:
                n % 5 === 0 ? Array.from({ length: 4 }, (_, k) => smallAttachment(`p${k}.bin`, 1_000_000)) : [],
            }),
          ),
        ),
      );
      expect(sandbox.items(BOB)).toHaveLength(30);
      expect(sandbox.stats().throttled.concurrency).toBe(0);
      expect(scheduler.counters().peakInFlightPerMailbox).toBe(4);
    });

    it("spends no more than the per-mailbox budget in any window", async () => {
      sandbox.setLimits({ requestsPerWindow: 15, requestWindowMs: 1000 });
      const scheduler = createScheduler({ budget: { requests: 15, windowMs: 1000 } });
      const w = writer({ scheduler });
      const userId = await resolve(w, CAROL);
      const folderId = await w.ensureSymphonyFolder(userId);
      await Promise.all(
        Array.from({ length: 25 }, (_, n) =>
          w.importMessage(userId, folderId, item(`budget-${n}`), { firstAttempt: true }),
        ),
      );
      expect(sandbox.items(CAROL)).toHaveLength(25);
      expect(sandbox.stats().throttled.requests).toBe(0);
      expect(scheduler.counters().throttled).toBe(0);
    });
  });

  describe("creates sent together in $batch", () => {
    it("creates messages for several mailboxes in fewer HTTP requests than messages, each once, with its files", async () => {
      const w = writer();
      const targets = await Promise.all(
        [ALICE, BOB, CAROL].map(async (address) => {
          const userId = await resolve(w, address);
          return { address, userId, folderId: await w.ensureSymphonyFolder(userId) };
        }),
      );
      const file = smallAttachment("report.pdf", 40_000);
      const before = sandbox.stats();
      const results = await Promise.all(
        targets.flatMap(({ address, userId, folderId }) =>
          Array.from({ length: 8 }, (_, n) =>
            w.importMessage(
              userId,
              folderId,
              item(`${address}-together-${n}`, { attachments: n === 0 ? [file] : [] }),
              { firstAttempt: true },
            ),
          ),
        ),
      );
      const after = sandbox.stats();
      expect(after.graphRequests - before.graphRequests).toBe(24);
      expect(after.httpRequests - before.httpRequests).toBeLessThanOrEqual(6);
      expect(results.every((result) => result.requests === 1 && !result.existing)).toBe(true);
      for (const { address, userId } of targets) {
        const stored = sandbox.items(address)!;
        expect(stored.map((i) => keyOf(i)).sort()).toEqual(
          Array.from({ length: 8 }, (_, n) => `${address}-together-${n}`).sort(),
        );
        const withFile = stored.find((i) => i.attachments.length > 0)!;
        await expectSameBytes(userId, withFile.id, [file]);
      }
    });

    it("gets a fresh token for creates of a batch refused with a token from before consent, as for a lone request", async () => {
      const w = writer();
      const [alice, bob] = await Promise.all([resolve(w, ALICE), resolve(w, BOB)]);
      const [aliceFolder, bobFolder] = await Promise.all([w.ensureSymphonyFolder(alice), w.ensureSymphonyFolder(bob)]);
      // The writer's token is replaced by one issued while the tenant had not consented (no roles).
      sandbox.setConsent(false);
      await expect(w.resolveMailbox(CAROL)).rejects.toMatchObject({ reason: "no-consent" });
      sandbox.setConsent(true);
      const tokensBefore = sandbox.stats().tokensIssued;
      await Promise.all([
        w.importMessage(alice, aliceFolder, item("stale-1"), { firstAttempt: true }),
        w.importMessage(bob, bobFolder, item("stale-2"), { firstAttempt: true }),
      ]);
      expect(sandbox.stats().tokensIssued).toBe(tokensBefore + 1);
      expect(sandbox.items(ALICE)!.map(keyOf)).toEqual(["stale-1"]);
      expect(sandbox.items(BOB)!.map(keyOf)).toEqual(["stale-2"]);
    });

    it("gives each message of a batch its own answer: a full mailbox fails its item, the others land", async () => {
      const w = writer();
      const [frank, alice] = await Promise.all([resolve(w, FRANK), resolve(w, ALICE)]);
      const [frankFolder, aliceFolder] = await Promise.all([
        w.ensureSymphonyFolder(frank),
        w.ensureSymphonyFolder(alice),
      ]);
      sandbox.setMailbox(FRANK, { full: true });
      const before = sandbox.stats().httpRequests;
      const outcomes = await Promise.allSettled([
        w.importMessage(alice, aliceFolder, item("mixed-1"), { firstAttempt: true }),
        w.importMessage(frank, frankFolder, item("mixed-2"), { firstAttempt: true }),
        w.importMessage(alice, aliceFolder, item("mixed-3"), { firstAttempt: true }),
      ]);
      expect(sandbox.stats().httpRequests - before).toBe(1);
      expect(outcomes.map((outcome) => outcome.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
      const refused = (outcomes[1] as PromiseRejectedResult).reason as unknown;
      expect(refused).toBeInstanceOf(MailboxUnavailableError);
      expect((refused as MailboxUnavailableError).problem).toBe("mailbox-full");
      expect(sandbox.items(ALICE)!.map(keyOf).sort()).toEqual(["mixed-1", "mixed-3"]);
      expect(sandbox.items(FRANK)).toHaveLength(0);
    });

    it("lands each message of a batch exactly once when its create times out (504) but lands", async () => {
      const w = writer({ scheduler: createScheduler({ backoff: { baseMs: 5, maxMs: 10 } }) });
      const userId = await resolve(w, BOB);
      const folderId = await w.ensureSymphonyFolder(userId);
      sandbox.setFaults({ lostCreateShare: 0.5, lostCreateLandsAfterMs: 600_000 });
      const keys = Array.from({ length: 12 }, (_, n) => `late-together-${n}`);
      const results = await Promise.all(
        keys.map((key) => w.importMessage(userId, folderId, item(key), { firstAttempt: true })),
      );
      expect(sandbox.stats().lostCreates).toBeGreaterThan(0);
      expect(results.reduce((sum, result) => sum + result.duplicatesRemoved, 0)).toBe(sandbox.stats().lostCreates);
      const stored = sandbox.items(BOB)!;
      expect(stored.map(keyOf).sort()).toEqual([...keys].sort());
      expect(results.map((result) => result.graphMessageId).sort()).toEqual(stored.map((i) => i.id).sort());
    });
  });

  function keyOf(stored: { extendedProperties: Array<{ id: string; value: string }> }): string | undefined {
    return stored.extendedProperties.find((p) => p.id.endsWith("SymphonyItemKey"))?.value;
  }

  async function resolve(w: ReturnType<typeof writer>, address: string): Promise<string> {
    const lookup = await w.resolveMailbox(address);
    if (!lookup.found) throw new Error(`${address} not in the sandbox`);
    return lookup.userId;
  }

  async function graphGet(path: string) {
    const response = await fetch(`${sandbox.graphBaseUrl}${path}`, {
      headers: { Authorization: `Bearer ${await token(secretSettings())}` },
    });
    expect(response.status).toBe(200);
    return response;
  }

  async function expectSameBytes(userId: string, messageId: string, attachments: ImportAttachment[]) {
    const list = (await (
      await graphGet(`/users/${userId}/messages/${messageId}/attachments?$select=id,name`)
    ).json()) as { value: Array<{ id: string; name: string }> };
    for (const attachment of attachments) {
      const stored = list.value.find((a) => a.name === attachment.name)!;
      const bytes = Buffer.from(
        await (await graphGet(`/users/${userId}/messages/${messageId}/attachments/${stored.id}/$value`)).arrayBuffer(),
      );
      const expected = Buffer.concat(await Readable.from(await attachment.open()).toArray());
      expect(sha256(bytes), attachment.name).toBe(sha256(expected));
    }
  }
});

function smallAttachment(name: string, size: number): ImportAttachment {
  return bytesAttachment(name, randomBytes(size));
}

function claims(token: string): Record<string, unknown> {
  const payload = token.split(".")[1];
  if (payload === undefined) throw new Error("Not a JWT: the token has no payload part.");
  return JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as Record<string, unknown>;
}
