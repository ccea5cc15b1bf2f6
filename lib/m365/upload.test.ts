import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { ALICE, bytesAttachment, item, readAll, sha256, sandboxSettings } from "./test-items";
import { startM365Sandbox, type M365Sandbox } from "@/sandbox/m365";
import { planAttachments, SMALL_ATTACHMENT_MAX_BYTES, UPLOAD_SESSION_MIN_BYTES } from "./attachments";
import { createGraphTransport } from "./graph";
import { nextByte, UPLOAD_CHUNK_BYTES, uploadChunks, uploadLargeAttachment } from "./upload";
import {
  createMailboxWriter,
  createScheduler,
  createTokenProvider,
  parseM365Settings,
  MailboxUnavailableError,
  type ImportAttachment,
  type M365SettingsInput,
} from "./index";

const caDir = process.env.M365_SANDBOX_CA_DIR;
const BOB = "bob@contoso.test";
const CAROL = "carol@contoso.test";
const MB = 1024 * 1024;

describe("upload session details without a sandbox", () => {
  it("reads nextExpectedRanges in any casing: Graph's camelCase and Outlook's PascalCase", () => {
    expect(nextByte({ nextExpectedRanges: ["0-"] })).toBe(0);
    expect(nextByte({ NextExpectedRanges: ["2097152"] })).toBe(2_097_152);
    expect(nextByte({ nextexpectedranges: ["3932160-"] })).toBe(3_932_160);
    expect(nextByte({ NextExpectedRanges: [] })).toBeUndefined();
    expect(nextByte(undefined)).toBeUndefined();
  });

  it("never plans an upload session below Outlook's minimum session size", () => {
    expect(SMALL_ATTACHMENT_MAX_BYTES).toBeGreaterThanOrEqual(UPLOAD_SESSION_MIN_BYTES);
    const sized = (size: number): ImportAttachment => ({
      name: `${size}.bin`,
      contentType: "application/octet-stream",
      size,
      isInline: false,
      open: () => Readable.from([]),
    });
    const sizes = [UPLOAD_SESSION_MIN_BYTES - 1, UPLOAD_SESSION_MIN_BYTES, SMALL_ATTACHMENT_MAX_BYTES - 1];
    const plan = planAttachments([...sizes.map(sized), sized(SMALL_ATTACHMENT_MAX_BYTES)], undefined);
    expect(plan.large.map((a) => a.size)).toEqual([SMALL_ATTACHMENT_MAX_BYTES]);
    expect(plan.small.map((a) => a.size)).toEqual(sizes);
  });
});

// The sandbox serves TLS from a local CA that this process must trust from its start (vitest's
// globalSetup sets NODE_EXTRA_CA_CERTS before forking workers).
describe.skipIf(!caDir || !process.env.NODE_EXTRA_CA_CERTS)("upload sessions against the sandbox", () => {
  let sandbox: M365Sandbox;

  beforeAll(async () => {
    sandbox = await startM365Sandbox({
      caDir,
      consented: true,
      mailboxes: [
        { address: ALICE, displayName: "Alice Archer" },
        { address: BOB, displayName: "Bob Baker" },
        { address: CAROL, displayName: "Carol Chen" },
      ],
    });
  });
  afterAll(() => sandbox?.close());
  beforeEach(() => {
    sandbox.reset();
    sandbox.setFaults({ serviceUnavailableShare: 0, latencyMs: 0, retryAfterSeconds: 1 });
    sandbox.setLimits({
      concurrentRequests: 4,
      requestsPerWindow: 10_000,
      requestWindowMs: 600_000,
      uploadBytesPerWindow: 150 * MB,
      uploadWindowMs: 5 * 60_000,
    });
  });
  afterEach(() => vi.restoreAllMocks());

  const settings = (): M365SettingsInput => sandboxSettings(sandbox);
  const graphTransport = () =>
    createGraphTransport(parseM365Settings(settings()), createTokenProvider(parseM365Settings(settings())));

  /** `address`'s user id and Symphony folder, through writer `w`. */
  async function symphonyFolderOf(w: ReturnType<typeof createMailboxWriter>, address: string) {
    const lookup = await w.resolveMailbox(address);
    if (!lookup.found) throw new Error(`${address} not in the sandbox`);
    return { userId: lookup.userId, folderId: await w.ensureSymphonyFolder(lookup.userId) };
  }

  /** A message in `address`'s Symphony folder, and the ids the upload needs. */
  async function newMessage(address: string, key: string) {
    const w = createMailboxWriter({ settings: settings() });
    const { userId, folderId } = await symphonyFolderOf(w, address);
    const { graphMessageId } = await w.importMessage(userId, folderId, item(key), { firstAttempt: true });
    return { userId, messageId: graphMessageId, folderId };
  }

  /** Every call the product makes to an upload URL (outlook.office.com in reality), by method. */
  function watchUploadUrls(transform?: (url: string, init: RequestInit | undefined, n: number) => Promise<Response>) {
    const calls: Array<{ method: string; url: string }> = [];
    const realFetch = globalThis.fetch;
    vi.spyOn(globalThis, "fetch").mockImplementation((input, init) => {
      const url = input instanceof Request ? input.url : String(input);
      if (!url.includes("/AttachmentSessions(")) return realFetch(input, init);
      calls.push({ method: init?.method ?? "GET", url });
      return transform ? transform(url, init, calls.length) : realFetch(input, init);
    });
    return { calls, realFetch };
  }

  /** The upload URL's `nth` call is answered `status` with a Graph error of `code` instead of reaching the sandbox. */
  function refuseUploadCall(nth: number, status: number, code: string, message: string) {
    const watch = watchUploadUrls(async (url, init, n) => {
      if (n !== nth) return watch.realFetch(url, init);
      return new Response(JSON.stringify({ error: { code, message } }), {
        status,
        headers: { "Content-Type": "application/json" },
      });
    });
    return watch;
  }

  const uploadTarget = (userId: string, messageId: string) => ({
    ctx: { graph: graphTransport(), scheduler: createScheduler() },
    userId,
    messageId,
    onSent: () => {},
  });

  it("follows Outlook's PascalCase NextExpectedRanges from the session it is given", async () => {
    const { userId, messageId } = await newMessage(ALICE, "pascal");
    const graph = graphTransport();
    const attachment = bytesAttachment("resumed.bin", randomBytes(2 * UPLOAD_CHUNK_BYTES + 1000));
    const session = await graph({
      method: "POST",
      path: `/users/${userId}/messages/${messageId}/attachments/createUploadSession`,
      body: { AttachmentItem: { attachmentType: "file", name: attachment.name, size: attachment.size } },
    });
    const { uploadUrl } = session.body as { uploadUrl: string };
    const first = (await readAll(attachment)).subarray(0, UPLOAD_CHUNK_BYTES);
    const put = await fetch(uploadUrl, {
      method: "PUT",
      headers: { "Content-Range": `bytes 0-${UPLOAD_CHUNK_BYTES - 1}/${attachment.size}` },
      body: new Uint8Array(first),
    });
    expect(put.status).toBe(200);
    const status = (await put.json()) as Record<string, unknown>;
    expect(status.NextExpectedRanges).toEqual([String(UPLOAD_CHUNK_BYTES)]);

    const { calls } = watchUploadUrls();
    const target = { ctx: { graph, scheduler: createScheduler() }, userId, messageId, onSent: () => {} };
    // The session as a client that kept the chunk's answer has it: Outlook's casing.
    const resumed = { uploadUrl, ...status };
    expect(await uploadChunks(target, resumed, attachment)).toBe("done");
    expect(calls.map((c) => c.method)).toEqual(["PUT", "PUT"]);
    await expectSameBytes(userId, messageId, [attachment]);
  });

  it("after a chunk that landed but whose answer was lost, starts a new session with PUT and DELETE only", async () => {
    const { userId, messageId } = await newMessage(BOB, "lost-answer");
    const attachment = bytesAttachment("lost.bin", randomBytes(2 * UPLOAD_CHUNK_BYTES + 1000));
    const { calls, realFetch } = watchUploadUrls(async (url, init, n) => {
      const response = await realFetch(url, init);
      // The first chunk reaches Outlook; its answer never comes back.
      if (n === 1) throw new TypeError("fetch failed: socket hang up");
      return response;
    });
    const scheduler = createScheduler({ backoff: { baseMs: 10, maxMs: 50 } });
    const target = { ctx: { graph: graphTransport(), scheduler }, userId, messageId, onSent: () => {} };
    await uploadLargeAttachment(target, attachment, [attachment]);

    expect(new Set(calls.map((c) => c.method))).toEqual(new Set(["PUT", "DELETE"]));
    const sessions = [...new Set(calls.map((c) => c.url))];
    expect(sessions).toHaveLength(2);
    // The stale session is deleted (after the resent first chunk was refused), then a new one carries it all.
    expect(calls.filter((c) => c.url === sessions[0]).map((c) => c.method)).toEqual(["PUT", "PUT", "DELETE"]);
    expect(calls.filter((c) => c.url === sessions[1]).map((c) => c.method)).toEqual(["PUT", "PUT", "PUT"]);
    expect(sandbox.items(BOB)![0]!.attachments.map((a) => a.name)).toEqual(["lost.bin"]);
    await expectSameBytes(userId, messageId, [attachment]);
  });

  it("opens a new session when the upload URL refuses its own token (401), and the file arrives once", async () => {
    const { userId, messageId } = await newMessage(CAROL, "url-401");
    const attachment = bytesAttachment("refused.bin", randomBytes(2 * UPLOAD_CHUNK_BYTES + 1000));
    // The second chunk is refused with 401, as upload URLs were seen to answer (msgraph-sdk-javascript#1923,
    // msgraph-sdk-java-core#445); the body names no mailbox condition.
    const { calls } = refuseUploadCall(2, 401, "InvalidAudience", "The audience claim value is invalid 'aud'.");
    await uploadLargeAttachment(uploadTarget(userId, messageId), attachment, [attachment]);

    const sessions = [...new Set(calls.map((c) => c.url))];
    expect(sessions).toHaveLength(2);
    expect(calls.filter((c) => c.url === sessions[1]).map((c) => c.method)).toEqual(["PUT", "PUT", "PUT"]);
    expect(sandbox.items(CAROL)![0]!.attachments.map((a) => a.name)).toEqual(["refused.bin"]);
    await expectSameBytes(userId, messageId, [attachment]);
  });

  it("fails with the mailbox's own condition when the upload URL's 401 or 403 names it, without opening another session", async () => {
    const { userId, messageId } = await newMessage(CAROL, "url-quota");
    const attachment = bytesAttachment("full.bin", randomBytes(2 * UPLOAD_CHUNK_BYTES + 1000));
    const { calls } = refuseUploadCall(1, 403, "ErrorQuotaExceeded", "The mailbox has exceeded its quota.");
    await expect(
      uploadLargeAttachment(uploadTarget(userId, messageId), attachment, [attachment]),
    ).rejects.toBeInstanceOf(MailboxUnavailableError);
    expect(new Set(calls.map((c) => c.url)).size).toBe(1);
  });

  it("imports a just-under-3 MB attachment without an upload session (the sandbox refuses sessions under 2 MiB)", async () => {
    const { calls } = watchUploadUrls();
    const { userId } = await newMessage(ALICE, "first");
    const w = createMailboxWriter({ settings: settings() });
    const folderId = await w.ensureSymphonyFolder(userId);
    const attachments = [bytesAttachment("under.bin", randomBytes(SMALL_ATTACHMENT_MAX_BYTES - 1))];
    const result = await w.importMessage(userId, folderId, item("just-under", { attachments }), { firstAttempt: true });
    expect(calls).toEqual([]);
    await expectSameBytes(userId, result.graphMessageId, attachments);
  });

  describe("per-mailbox upload byte budget", () => {
    const BUDGET = 8 * MB;
    const WINDOW_MS = 1500;
    const twoLargeAttachments = () => [
      bytesAttachment("one.bin", randomBytes(11 * MB)),
      bytesAttachment("two.bin", randomBytes(11 * MB)),
    ];

    it("paces chunk uploads so that the mailbox never meets the sandbox's upload 429s", async () => {
      sandbox.setLimits({ uploadBytesPerWindow: BUDGET, uploadWindowMs: WINDOW_MS });
      // The product's budget as Outlook's, its window a little longer for the time a chunk takes to arrive.
      const scheduler = createScheduler({ uploadBudget: { bytes: BUDGET, windowMs: WINDOW_MS + 200 } });
      const w = createMailboxWriter({ settings: settings(), scheduler });
      const { userId, folderId } = await symphonyFolderOf(w, ALICE);
      const attachments = twoLargeAttachments();
      const started = Date.now();
      const result = await w.importMessage(userId, folderId, item("paced", { attachments }), { firstAttempt: true });
      // 22 MB in 3.75 MiB chunks = 6 chunks, 2 per window: at least two windows waited.
      expect(Date.now() - started).toBeGreaterThanOrEqual(2 * WINDOW_MS);
      expect(sandbox.stats().throttled.upload).toBe(0);
      expect(scheduler.counters().throttled).toBe(0);
      await expectSameBytes(userId, result.graphMessageId, attachments);
    }, 30_000);

    it("counts every create's body against the budget, as Outlook does: a mailbox's creates never meet its upload 429s", async () => {
      const budget = 2 * MB;
      sandbox.setLimits({ uploadBytesPerWindow: budget, uploadWindowMs: WINDOW_MS });
      const scheduler = createScheduler({ uploadBudget: { bytes: budget, windowMs: WINDOW_MS + 200 } });
      const w = createMailboxWriter({ settings: settings(), scheduler });
      const { userId, folderId } = await symphonyFolderOf(w, CAROL);
      // 12 creates of about 540 KB each (a 400 KB file in base64): 6.4 MB, at least three windows.
      const items = Array.from({ length: 12 }, (_, n) =>
        item(`create-${n}`, { attachments: [bytesAttachment(`file-${n}.bin`, randomBytes(400 * 1024))] }),
      );
      const started = Date.now();
      await Promise.all(items.map((one) => w.importMessage(userId, folderId, one, { firstAttempt: true })));
      expect(Date.now() - started).toBeGreaterThanOrEqual(2 * WINDOW_MS);
      expect(sandbox.stats().throttled.upload).toBe(0);
      expect(scheduler.counters().throttled).toBe(0);
      expect(sandbox.items(CAROL)).toHaveLength(12);
    }, 30_000);

    it("without pacing, the same import meets 429s from the upload budget (the sandbox enforces it)", async () => {
      sandbox.setLimits({ uploadBytesPerWindow: BUDGET, uploadWindowMs: WINDOW_MS });
      const scheduler = createScheduler({ backoff: { baseMs: 10, maxMs: 50 } });
      const w = createMailboxWriter({ settings: settings(), scheduler });
      const { userId, folderId } = await symphonyFolderOf(w, BOB);
      const attachments = twoLargeAttachments();
      await w.importMessage(userId, folderId, item("unpaced", { attachments }), { firstAttempt: true });
      expect(sandbox.stats().throttled.upload).toBeGreaterThan(0);
    }, 30_000);
  });

  async function graphGet(path: string) {
    const token = await createTokenProvider(parseM365Settings(settings())).getAccessToken();
    const response = await fetch(`${sandbox.graphBaseUrl}${path}`, { headers: { Authorization: `Bearer ${token}` } });
    expect(response.status).toBe(200);
    return response;
  }

  async function expectSameBytes(userId: string, messageId: string, attachments: ImportAttachment[]) {
    const list = (await (
      await graphGet(`/users/${userId}/messages/${messageId}/attachments?$select=id,name`)
    ).json()) as { value: Array<{ id: string; name: string }> };
    expect(list.value.map((a) => a.name).sort()).toEqual(attachments.map((a) => a.name).sort());
    for (const attachment of attachments) {
      const stored = list.value.find((a) => a.name === attachment.name)!;
      const bytes = Buffer.from(
        await (await graphGet(`/users/${userId}/messages/${messageId}/attachments/${stored.id}/$value`)).arrayBuffer(),
      );
      expect(sha256(bytes), attachment.name).toBe(sha256(await readAll(attachment)));
    }
  }
});
