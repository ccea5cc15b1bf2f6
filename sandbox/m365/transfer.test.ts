import { randomBytes } from "node:crypto";
import {
  type Client,
  type GraphError,
  LargeFileUploadTask,
  RetryHandlerOptions,
  FileUpload,
} from "@microsoft/microsoft-graph-client";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { M365Sandbox } from "./index";
import { MAILBOXES, appToken, graphClient, graphFailure, skipWithoutCa, startTestSandbox } from "./test-support";

const NO_RETRY = [new RetryHandlerOptions(0, 0)];
/** 12 x 320 KiB = 3.75 MiB: under Outlook's 4 MB chunk limit and a multiple of 320 KiB. */
const RANGE_SIZE = 12 * 320 * 1024;

// The parts of Graph's answers these tests read (the Graph client types them `any`).
type Entity = { id: string };
type Collection<T> = { value: T[] };
type Batch = { responses: Array<{ id: string; status: number; headers: Record<string, string> }> };
type GraphErrorBody = { error: { message: string } };
/** A chunk's answer from the upload URL: Outlook REST v2.0, PascalCase. */
type UploadStatus = { NextExpectedRanges: string[]; ExpirationDateTime: string };

describe.skipIf(skipWithoutCa)("M365 sandbox: large attachments and throttling with the real Graph client", () => {
  let sandbox: M365Sandbox;
  let graph: Client;
  const alice = MAILBOXES[0].address;
  const bob = MAILBOXES[1].address;

  beforeAll(async () => {
    sandbox = await startTestSandbox();
    const token = await appToken(sandbox);
    graph = graphClient(sandbox, () => Promise.resolve(token));
  });
  beforeEach(() => {
    sandbox.reset();
    sandbox.setLimits({ concurrentRequests: 4, requestsPerWindow: 10_000, uploadBytesPerWindow: 150 * 1024 * 1024 });
    sandbox.setFaults({ latencyMs: 0, serviceUnavailableShare: 0 });
  });
  afterAll(() => sandbox?.close());

  async function newMessage(address = alice): Promise<Entity> {
    return (await graph
      .api(`/users/${address}/mailFolders/inbox/messages`)
      .post({ subject: "large", singleValueExtendedProperties: [{ id: "Integer 0x0E07", value: "1" }] })) as Entity;
  }

  async function uploadSession(messageId: string, size: number) {
    return LargeFileUploadTask.createUploadSession(
      graph,
      `/users/${alice}/messages/${encodeURIComponent(messageId)}/attachments/createUploadSession`,
      { AttachmentItem: { attachmentType: "file", name: "big.bin", size, contentType: "application/octet-stream" } },
    );
  }

  it("uploads a >10 MB attachment through an upload session, and reads it back byte for byte", async () => {
    const message = await newMessage();
    const content = randomBytes(10 * 1024 * 1024 + 12345);
    const session = await uploadSession(message.id, content.length);
    expect(new URL(session.url).hostname).toBe("127.0.0.1");
    const task = new LargeFileUploadTask(graph, new FileUpload(content, "big.bin", content.length), session, {
      rangeSize: RANGE_SIZE,
    });
    const result = await task.upload();
    expect(result.location).toContain("/Attachments(");

    const attachments = (await graph
      .api(`/users/${alice}/messages/${encodeURIComponent(message.id)}/attachments`)
      .select("id,name,size")
      .get()) as Collection<Entity>;
    expect(attachments.value).toHaveLength(1);
    const [attachment] = attachments.value;
    expect(attachment).toMatchObject({ name: "big.bin", size: content.length });
    const raw = (await graph
      .api(
        `/users/${alice}/messages/${encodeURIComponent(message.id)}/attachments/${encodeURIComponent(attachment!.id)}/$value`,
      )
      .responseType("arraybuffer" as never)
      .get()) as ArrayBuffer;
    expect(Buffer.from(raw).equals(content)).toBe(true);
  });

  it("validates Content-Range chunk by chunk: gaps, wrong totals, over 4 MB, not a multiple of 320 KiB, Authorization header", async () => {
    const message = await newMessage();
    const size = 5 * 1024 * 1024;
    const session = await uploadSession(message.id, size);
    const put = (range: string, body: Buffer, headers: Record<string, string> = {}) =>
      fetch(session.url, {
        method: "PUT",
        headers: { "Content-Range": range, "Content-Type": "application/octet-stream", ...headers },
        body: new Uint8Array(body),
      });
    const chunk = Buffer.alloc(320 * 1024, 1);

    const gap = await put(`bytes 1000-${1000 + chunk.length - 1}/${size}`, chunk);
    expect(gap.status).toBe(400);
    expect(((await gap.json()) as GraphErrorBody).error.message).toContain("start at byte 0");
    expect((await put(`bytes 0-${chunk.length - 1}/${size + 1}`, chunk)).status).toBe(400);
    const odd = Buffer.alloc(100_000, 1);
    expect((await put(`bytes 0-${odd.length - 1}/${size}`, odd)).status).toBe(400);
    const tooBig = Buffer.alloc(4 * 1024 * 1024 + 320 * 1024, 1);
    expect((await put(`bytes 0-${tooBig.length - 1}/${size}`, tooBig)).status).toBe(400);
    expect((await put(`bytes 0-${chunk.length - 1}/${size}`, chunk, { Authorization: "Bearer x" })).status).toBe(401);

    const first = await put(`bytes 0-${chunk.length - 1}/${size}`, chunk);
    expect(first.status).toBe(200);
    const status = (await first.json()) as UploadStatus;
    expect(status.NextExpectedRanges).toEqual([String(chunk.length)]);
    expect(status).not.toHaveProperty("nextExpectedRanges");
    expect(Date.parse(status.ExpirationDateTime)).toBeGreaterThan(Date.now());
    expect((await put(`bytes 0-${chunk.length - 1}/${size}`, chunk)).status).toBe(400);
    // Only PUT and DELETE are documented on an upload URL: no GET to ask where the session stands.
    expect((await fetch(session.url)).status).toBe(405);
    expect((await fetch(session.url, { method: "DELETE" })).status).toBe(204);
    expect((await put(`bytes ${chunk.length}-${2 * chunk.length - 1}/${size}`, chunk)).status).toBe(404);
  });

  it("refuses an upload session below Outlook's minimum size with ErrorAttachmentSizeShouldNotBeLessThanMinimumSize", async () => {
    const message = await newMessage();
    const refused = await graphFailure(uploadSession(message.id, 2 * 1024 * 1024 - 1));
    expect(refused).toMatchObject({ statusCode: 400, code: "ErrorAttachmentSizeShouldNotBeLessThanMinimumSize" });
    const session = await uploadSession(message.id, 2 * 1024 * 1024);
    expect(session.url).toContain("authtoken=");
  });

  it("answers 429 ApplicationThrottled with Retry-After when more than 4 requests run at once on one mailbox", async () => {
    sandbox.setFaults({ latencyMs: 300 });
    const results = await Promise.allSettled(
      Array.from({ length: 5 }, () => graph.api(`/users/${alice}/mailFolders/inbox`).middlewareOptions(NO_RETRY).get()),
    );
    const failures = results
      .filter((r): r is PromiseRejectedResult => r.status === "rejected")
      .map((r) => r.reason as GraphError);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(4);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ statusCode: 429, code: "ApplicationThrottled" });
    expect(failures[0]?.message).toContain("MailboxConcurrency");
    expect(failures[0]?.headers?.get("Retry-After")).toBeTruthy();

    // Another mailbox has its own limits.
    await expect(
      Promise.all(
        Array.from({ length: 4 }, () => graph.api(`/users/${bob}/mailFolders/inbox`).middlewareOptions(NO_RETRY).get()),
      ),
    ).resolves.toHaveLength(4);
    expect(sandbox.stats().throttled.concurrency).toBe(1);
  });

  it("answers 429 with Retry-After once the request budget of the window is spent, also inside $batch", async () => {
    sandbox.setLimits({ requestsPerWindow: 3, requestWindowMs: 60_000 });
    for (let i = 0; i < 3; i++) await graph.api(`/users/${alice}/mailFolders/inbox`).get();
    const over = await graphFailure(graph.api(`/users/${alice}/mailFolders/inbox`).middlewareOptions(NO_RETRY).get());
    expect(over).toMatchObject({ statusCode: 429, code: "ApplicationThrottled" });
    const retryAfter = Number(over.headers?.get("Retry-After"));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);

    const batch = (await graph.api("/$batch").post({
      requests: [
        { id: "1", method: "GET", url: `/users/${alice}/mailFolders/inbox` },
        { id: "2", method: "GET", url: `/users/${bob}/mailFolders/inbox` },
      ],
    })) as Batch;
    const byId = Object.fromEntries(batch.responses.map((r) => [r.id, r]));
    expect(byId["1"]?.status).toBe(429);
    expect(Number(byId["1"]?.headers["Retry-After"])).toBeGreaterThan(0);
    expect(byId["2"]?.status).toBe(200);
  });

  it("answers 429 when the upload budget of the window is spent", async () => {
    const message = await newMessage();
    sandbox.setLimits({ uploadBytesPerWindow: 1024 * 1024 });
    const session = await uploadSession(message.id, 4 * 1024 * 1024);
    const chunk = Buffer.alloc(3 * 320 * 1024, 2);
    const put = (start: number) =>
      fetch(session.url, {
        method: "PUT",
        headers: { "Content-Range": `bytes ${start}-${start + chunk.length - 1}/${4 * 1024 * 1024}` },
        body: new Uint8Array(chunk),
      });
    expect((await put(0)).status).toBe(200);
    const refused = await put(chunk.length);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("Retry-After"))).toBeGreaterThan(0);
  });

  it("injects 503 with Retry-After and counts it in the stats", async () => {
    sandbox.setFaults({ serviceUnavailableShare: 1, retryAfterSeconds: 0 });
    const failed = await graphFailure(graph.api(`/users/${alice}/mailFolders/inbox`).middlewareOptions(NO_RETRY).get());
    expect(failed).toMatchObject({ statusCode: 503 });
    expect(failed.headers?.get("Retry-After")).toBe("0");
    expect(sandbox.stats().serviceUnavailable).toBe(1);
  });
});
