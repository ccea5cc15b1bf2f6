import { createHash, generateKeyPairSync } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Readable } from "node:stream";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { SymphonyError, type RetryEvent } from "@/lib/symphony";
import { startSymphonySandbox, type SymphonySandbox } from "@/sandbox/symphony/index";
import { createFilesApiDelivery, HASH_WAIT_MS, type FilesApiOptions } from "./files-api";
import { ExportDownloadError } from "./errors";
import { testFilesApi } from "./test-connection";

// 140 days of messages: more than 100 export files, so the listing needs several pages of 100.
let sandbox: SymphonySandbox;
let exports: NonNullable<SymphonySandbox["contentExport"]>;

beforeAll(async () => {
  sandbox = await startSymphonySandbox({
    seed: "files-api",
    org: { users: 6, messages: 400, periodDays: 140, largeAttachments: false },
    contentExport: {},
  });
  exports = sandbox.contentExport!;
});
afterAll(() => sandbox?.close());
afterEach(() => {
  exports.setExportFaults({
    listThrottleShare: 0,
    listServerErrorShare: 0,
    downloadThrottleShare: 0,
    downloadServerErrorShare: 0,
    retryAfterSeconds: 1,
    signedUrlAsRedirect: false,
  });
});

const settingsOf = (s: SymphonySandbox, podUrl = s.podUrl) => ({
  podUrl,
  botUsername: s.bot.username,
  privateKeyPem: s.bot.privateKeyPem,
});
const quick: FilesApiOptions = {
  retry: { maxAttempts: 4, baseDelayMs: 5, maxDelayMs: 20 },
  requestTimeoutMs: 10_000,
  allowPrivateHosts: true,
};

async function sha256Of(stream: Readable): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of stream as AsyncIterable<Buffer>) hash.update(chunk);
  return hash.digest("hex");
}

/** The sandbox's files, oldest upload first (a file that finished being written is uploaded anew). */
const filesByUpload = async () =>
  (await exports.files()).sort((a, b) => a.uploadTime - b.uploadTime || a.name.localeCompare(b.name));

const listRequests = () => sandbox.stats.byRoute["GET /files/v1/"] ?? 0;

describe("Files API delivery against the Symphony sandbox", () => {
  it("lists every export file over several pages, oldest upload first, with its metadata and .md5", async () => {
    const expected = await filesByUpload();
    expect(expected.length).toBeGreaterThan(100);
    const delivery = createFilesApiDelivery(settingsOf(sandbox), quick);
    try {
      const before = listRequests();
      const { ready, stillWriting } = await delivery.listReady();
      // 2 × 134 entries (files and their .md5) in pages of 100.
      expect(listRequests() - before).toBe(Math.ceil((expected.length * 2) / 100));
      expect(stillWriting).toEqual([]);
      expect(ready.map((file) => file.name)).toEqual(expected.map((file) => file.name));
      expect(ready.some((file) => file.name.endsWith(".md5"))).toBe(false);
      const first = expected[0]!;
      expect(ready[0]).toEqual({
        sourceId: first.id,
        name: first.name,
        size: first.size,
        integrityHash: first.sha256,
        md5: first.md5,
        uploadTime: new Date(first.uploadTime),
        format: first.format,
        jobType: first.jobType,
        periodStart: new Date(first.period.start),
        periodEnd: new Date(first.period.end),
        generatedAt: expect.any(Date) as unknown,
        encryptionKeyId: first.encryptionKeyId,
        encrypted: true,
      });
      expect(ready.every((file, i) => file.md5 === expected[i]!.md5)).toBe(true);
    } finally {
      await delivery.close();
    }
  });

  it("pages with a small page size, lists only files uploaded after a date and leaves files being written out", async () => {
    const files = await filesByUpload();
    const cut = files[files.length - 8]!;
    const writing = files[files.length - 3]!;
    await exports.setFileFault(writing.id, "being-written");
    const delivery = createFilesApiDelivery(settingsOf(sandbox), { ...quick, pageSize: 3 });
    try {
      const before = listRequests();
      const { ready, stillWriting } = await delivery.listReady({ uploadedAfter: new Date(cut.uploadTime) });
      expect(stillWriting).toEqual([writing.name]);
      const after = files.filter((file) => file.uploadTime > cut.uploadTime && file.id !== writing.id);
      expect(ready.map((file) => file.name)).toEqual(after.map((file) => file.name));
      // 7 files and 6 .md5 (none yet for the file being written): 13 entries, 5 pages of 3.
      expect(listRequests() - before).toBe(5);
    } finally {
      await exports.setFileFault(writing.id, null);
      await delivery.close();
    }
  });

  // The spec documents a 200 with the URL in its body and Location, and calls it "Redirect to the signed URL".
  it.each([
    ["given in a 200's body", false],
    ["given as a 302's Location", true],
  ])(
    "downloads the stored bytes from the signed URL %s, without an Authorization header",
    async (_, signedUrlAsRedirect) => {
      const [file] = await filesByUpload();
      exports.setExportFaults({ signedUrlAsRedirect });
      const delivery = createFilesApiDelivery(settingsOf(sandbox), quick);
      try {
        const { ready } = await delivery.listReady();
        const listed = ready.find((entry) => entry.sourceId === file!.id)!;
        // The storage answers 400 to a request that carries an Authorization header.
        expect(await sha256Of(await delivery.open(listed))).toBe(file!.sha256);
      } finally {
        await delivery.close();
      }
    },
  );

  it("retries 429 (after Retry-After) and 5xx on the list and on downloads", async () => {
    exports.setExportFaults({ listThrottleShare: 0.5, downloadServerErrorShare: 0.5, retryAfterSeconds: 1 });
    const retries: RetryEvent[] = [];
    const delivery = createFilesApiDelivery(settingsOf(sandbox), { ...quick, onRetry: (event) => retries.push(event) });
    try {
      await delivery.listNewest(1); // the first list request of two passes, the second is throttled
      const { ready } = await delivery.listReady({
        uploadedAfter: new Date((await filesByUpload()).at(-3)!.uploadTime),
      });
      expect(ready).toHaveLength(2);
      expect(await sha256Of(await delivery.open(ready[0]!))).toBe(ready[0]!.integrityHash);
      expect(retries).toContainEqual({ endpoint: "GET /files/v1/", attempt: 1, delayMs: 1000, reason: "HTTP 429" });
      expect(retries).toContainEqual(
        expect.objectContaining({ endpoint: "GET {signedUrl}", reason: "HTTP 503" }) as unknown,
      );
    } finally {
      await delivery.close();
    }
  });

  it("fails a download that still fails after its retries as that file's own failure, and a failing list as the run's", async () => {
    const delivery = createFilesApiDelivery(settingsOf(sandbox), quick);
    try {
      const { files } = await delivery.listNewest(1);
      exports.setExportFaults({ downloadServerErrorShare: 1 });
      const download = await delivery.open(files[0]!).catch((e: unknown) => e);
      expect(download).toBeInstanceOf(ExportDownloadError);
      expect((download as Error).message).toMatch(
        /^the download failed: GET \{signedUrl\}: HTTP 503.*; nothing was imported from it and it is downloaded again next run$/,
      );
      exports.setExportFaults({ downloadServerErrorShare: 0, listServerErrorShare: 1 });
      const listing = await delivery.listReady().catch((e: unknown) => e);
      expect(listing).toBeInstanceOf(SymphonyError);
      expect(listing).not.toBeInstanceOf(ExportDownloadError);
      expect(listing).toMatchObject({ code: "server_error", endpoint: "GET /files/v1/" });
    } finally {
      await delivery.close();
    }
  });

  it("gets a fresh token when the access token is no longer accepted", async () => {
    const delivery = createFilesApiDelivery(settingsOf(sandbox), quick);
    try {
      await delivery.listNewest(1);
      const tokensBefore = sandbox.stats.byRoute["POST /login/idm/tokens"] ?? 0;
      exports.revokeAccessTokens();
      expect((await delivery.listNewest(1)).files).toHaveLength(1);
      expect(sandbox.stats.byRoute["POST /login/idm/tokens"]).toBe(tokensBefore + 1);
    } finally {
      await delivery.close();
    }
  });

  it("asks for one fresh signed URL when the first has expired, and fails if that one is refused too", async () => {
    const file = (await filesByUpload()).at(-1)!;
    await exports.setFileFault(file.id, "expired-url");
    // Between the client and the pod: the first signed URL handed out is the expired one, then the fault is cleared.
    const proxy = await podProxy(sandbox.podUrl, async (url) => {
      if (url.pathname === `/files/v1/${file.id}`) await exports.setFileFault(file.id, null);
    });
    const delivery = createFilesApiDelivery(settingsOf(sandbox, proxy.url), quick);
    try {
      const { files } = await delivery.listNewest(1);
      expect(files[0]?.sourceId).toBe(file.id);
      const storage403 = sandbox.stats.byStatus["403"] ?? 0;
      expect(await sha256Of(await delivery.open(files[0]!))).toBe(file.sha256);
      expect(sandbox.stats.byStatus["403"]).toBe(storage403 + 1);

      await exports.setFileFault(file.id, "expired-url");
      const direct = createFilesApiDelivery(settingsOf(sandbox), quick);
      const error = await direct.open(files[0]!).catch((e: unknown) => e);
      await direct.close();
      // The file's own failure: it fails alone, and is downloaded again next run.
      expect(error).toBeInstanceOf(ExportDownloadError);
      expect((error as Error).message).toMatch(/storage refused a freshly signed download URL/);
      expect((error as Error).message).not.toMatch(/X-Signature|X-Expires/);
      expect((error as Error).cause).toBeInstanceOf(SymphonyError);
    } finally {
      await exports.setFileFault(file.id, null);
      await delivery.close();
      await proxy.close();
    }
  });

  it("refuses the pod on a private address unless private hosts are allowed", async () => {
    const delivery = createFilesApiDelivery(settingsOf(sandbox), { ...quick, allowPrivateHosts: false });
    const error = await delivery.listReady().catch((e: unknown) => e);
    await delivery.close();
    expect(error).toMatchObject({ code: "blocked_host" });
  });

  it("says sign-in was refused when the key is not the bot's", async () => {
    const otherKey = generateKeyPairSync("rsa", { modulusLength: 2048 })
      .privateKey.export({ type: "pkcs8", format: "pem" })
      .toString();
    const delivery = createFilesApiDelivery({ ...settingsOf(sandbox), privateKeyPem: otherKey }, quick);
    const error = await delivery.listReady().catch((e: unknown) => e);
    await delivery.close();
    expect(error).toMatchObject({ code: "auth_rejected", status: 401 });

    const report = await testFilesApi({ ...settingsOf(sandbox), privateKeyPem: otherKey }, quick);
    expect(report).toEqual({
      ok: false,
      reason: expect.stringMatching(/rejected the service account's key for user/) as unknown,
    });
  });

  it("shows the newest five files on Test connection", async () => {
    const report = await testFilesApi(settingsOf(sandbox), quick);
    const newest = (await filesByUpload()).slice(-5).reverse();
    expect(report.ok).toBe(true);
    expect(report.ok && report.files.map((file) => file.name)).toEqual(newest.map((file) => file.name));
  });
});

// The spec requires only a file's id, name and type: a pod that never publishes the hash must not
// leave every file waiting as "being written".
describe("Files API files listed without a size or integrity hash", () => {
  let pod: SymphonySandbox;
  beforeAll(async () => {
    pod = await startSymphonySandbox({
      seed: "files-api-unhashed",
      org: { users: 4, messages: 40, largeAttachments: false },
      contentExport: {},
    });
  });
  afterAll(() => pod?.close());

  it("are taken as being written only for two hours after their upload, then read without a published hash", async () => {
    const ce = pod.contentExport!;
    const old = await ce.addFaultyFile("no-integrity-hash", { uploadTime: Date.now() - HASH_WAIT_MS - 60_000 });
    const recent = await ce.addFaultyFile("no-integrity-hash");
    const delivery = createFilesApiDelivery(settingsOf(pod), quick);
    try {
      const { ready, stillWriting } = await delivery.listReady();
      expect(ready.find((file) => file.name === old.name)).toMatchObject({ integrityHash: null, md5: null });
      expect(stillWriting).toEqual([recent.name]);
      const listed = ready.find((file) => file.name === old.name)!;
      expect(await sha256Of(await delivery.open(listed))).toBe(old.sha256);
    } finally {
      await delivery.close();
    }
  });

  it("wait, when listed without an upload time too, two hours from when a listing first showed them", async () => {
    const bare = await pod.contentExport!.addFaultyFile("no-upload-time");
    const delivery = createFilesApiDelivery(settingsOf(pod), quick);
    try {
      // Never shown before: it waits, and the listing names it for the caller to keep when it was first seen.
      const first = await delivery.listReady();
      expect(first.stillWriting).toContain(bare.name);
      expect(first.unstamped).toEqual([bare.id]);
      const firstListed = (at: number) => ({
        firstListed: (id: string) => (id === bare.id ? new Date(at) : undefined),
      });
      expect((await delivery.listReady(firstListed(Date.now() - 60_000))).stillWriting).toContain(bare.name);
      // First shown over two hours ago: read without a size, a hash or an upload time.
      const later = await delivery.listReady(firstListed(Date.now() - HASH_WAIT_MS - 60_000));
      expect(later.stillWriting).not.toContain(bare.name);
      expect(later.unstamped).toEqual([]);
      const listed = later.ready.find((file) => file.name === bare.name)!;
      expect(listed).toMatchObject({ size: null, integrityHash: null, md5: null, uploadTime: null });
      expect(await sha256Of(await delivery.open(listed))).toBe(bare.sha256);
    } finally {
      await delivery.close();
    }
  });
});

describe("Files API delivery when the service account lacks the role", () => {
  let noRole: SymphonySandbox;
  beforeAll(async () => {
    noRole = await startSymphonySandbox({
      seed: "files-api-no-role",
      org: { users: 4, messages: 40, largeAttachments: false },
      contentExport: { contentExportReader: false },
    });
  });
  afterAll(() => noRole?.close());

  it("says the Content Export Reader role is missing", async () => {
    const delivery = createFilesApiDelivery(settingsOf(noRole), quick);
    const error = await delivery.listReady().catch((e: unknown) => e);
    await delivery.close();
    expect(error).toBeInstanceOf(SymphonyError);
    expect(error).toMatchObject({ code: "forbidden", status: 403, endpoint: "POST /login/idm/tokens" });
    expect((error as Error).message).toMatch(/lacks the Content Export Reader role.*Symphony Admin Portal/);

    const report = await testFilesApi(settingsOf(noRole), quick);
    expect(report).toEqual({
      ok: false,
      reason: expect.stringMatching(
        /lacks the Content Export Reader role\. Assign the role .* Symphony Admin Portal/,
      ) as unknown,
    });
  });
});

describe("Files API delivery against servers that misbehave", () => {
  it("stops a server whose pages never end", async () => {
    const page = [metadataOf("1", "a.zip"), metadataOf("2", "b.zip")];
    const pod = await fakePod((_req, res) => {
      // Ignores `page`: the same full page forever, with a total it never reaches.
      res.writeHead(200, { "content-type": "application/json", "x-total-count": "1000000" });
      res.end(JSON.stringify(page));
    });
    const delivery = createFilesApiDelivery(pod.settings, { ...quick, pageSize: 2 });
    try {
      const error = await delivery.listReady().catch((e: unknown) => e);
      expect(error).toMatchObject({ code: "invalid_response" });
      expect((error as Error).message).toMatch(/page 2 repeated files of earlier pages/);
      expect(pod.listRequests()).toBe(2);
    } finally {
      await delivery.close();
      await pod.close();
    }
  });

  it("fails only the files the list describes oddly, or whose checksum file the storage refuses", async () => {
    const storage = await listenOn((_req, res) => res.writeHead(403).end());
    const pod = await fakePod((_req, res) => {
      res.writeHead(200, { "content-type": "application/json", "x-total-count": "5" });
      res.end(
        JSON.stringify([
          metadataOf("1", "a.zip"),
          { ...metadataOf("2", "b.zip"), integrityHash: "" },
          { ...metadataOf("", "no-id.zip"), id: null },
          metadataOf("3", "c.zip"),
          { ...metadataOf("4", "c.zip.md5"), contentType: "text/plain" },
        ]),
      );
    }, `${storage.url}/signed`);
    const delivery = createFilesApiDelivery(pod.settings, quick);
    try {
      const { ready, stillWriting } = await delivery.listReady();
      expect(stillWriting).toEqual([]);
      expect(ready.map((file) => [file.name, file.problem])).toEqual([
        ["a.zip", undefined],
        [
          "b.zip",
          "Symphony listed this file in a way the connector cannot read (integrityHash: expected 64 hex characters)",
        ],
        ["c.zip", expect.stringMatching(/^its checksum file c\.zip\.md5 could not be read: .*403/) as unknown],
      ]);
    } finally {
      await delivery.close();
      await pod.close();
      await closeServer(storage.server);
    }
  });

  it("reads the malformed timestamps of the spec's own examples", async () => {
    const pod = await fakePod((_req, res) => {
      res.writeHead(200, { "content-type": "application/json", "x-total-count": "1" });
      res.end(
        JSON.stringify([
          {
            ...metadataOf("7", "e_acme_SD-2025-05-11-00_ED-2025-05-12-00_GD-2025-05-12_1747039800000.zip"),
            uploadTime: "2025-05-12-09T14:30:00Z",
            typeSpecificMetadata: { jobType: "SCHEDULED", fileFormat: "EML", startTime: "garbage" },
          },
        ]),
      );
    });
    const delivery = createFilesApiDelivery(pod.settings, quick);
    try {
      const { ready } = await delivery.listReady();
      expect(ready[0]).toMatchObject({
        uploadTime: new Date("2025-05-12T14:30:00Z"),
        format: "EML",
        // Unreadable in the metadata: taken from the name.
        periodStart: new Date("2025-05-11T00:00:00Z"),
        periodEnd: new Date("2025-05-12T00:00:00Z"),
        generatedAt: new Date(1747039800000),
        md5: null,
        encrypted: false,
      });
    } finally {
      await delivery.close();
      await pod.close();
    }
  });
});

describe("Files API download URLs", () => {
  // A 3xx's Location is taken as the download URL (the spec calls its 200 a redirect); one that names no
  // URL, or sends the client back to the pod (a proxy's sign-in page), is not a download URL.
  it.each([
    ["without a Location", undefined, /HTTP 302 without a Location/],
    ["back to the pod", (pod: string) => `${pod}/login/sso?next=files`, /HTTP 302 back to the pod/],
    ["back to the pod by a relative Location", () => "/login/sso", /HTTP 302 back to the pod/],
  ])("refuses a redirect %s as the run's error, not a file's", async (_, location, message) => {
    let podUrl = "";
    const pod = await fakePod(
      (_req, res) => {
        res.writeHead(200, { "content-type": "application/json", "x-total-count": "1" });
        res.end(JSON.stringify([metadataOf("7", "export.zip")]));
      },
      (res) => res.writeHead(302, location ? { location: location(podUrl) } : {}).end(),
    );
    podUrl = pod.settings.podUrl;
    const delivery = createFilesApiDelivery(pod.settings, quick);
    try {
      const { ready } = await delivery.listReady();
      const error = await delivery.open(ready[0]!).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SymphonyError);
      expect(error).toMatchObject({ code: "redirect", endpoint: "GET /files/v1/{fileId}", status: 302 });
      expect((error as Error).message).toMatch(message);
    } finally {
      await delivery.close();
      await pod.close();
    }
  });

  it("refuses an http:// download URL to a public address, even while private hosts are allowed", async () => {
    const pod = await fakePod((_req, res) => {
      res.writeHead(200, { "content-type": "application/json", "x-total-count": "1" });
      res.end(JSON.stringify([metadataOf("7", "export.zip")]));
    }, "http://8.8.8.8/exports/7?X-Signature=SIGNATURE-SECRET");
    const delivery = createFilesApiDelivery(pod.settings, quick);
    try {
      const { ready } = await delivery.listReady();
      const error = await delivery.open(ready[0]!).catch((e: unknown) => e);
      // Not this file's own failure: every file's URL would be refused alike, so the run stops.
      expect(error).toBeInstanceOf(SymphonyError);
      expect(error).toMatchObject({ code: "insecure_url", endpoint: "GET /files/v1/{fileId}" });
      expect((error as Error).message).toMatch(/download URLs must be https:\/\//);
      expect((error as Error).message).not.toContain("SIGNATURE-SECRET");
    } finally {
      await delivery.close();
      await pod.close();
    }
  });
});

function metadataOf(id: string, name: string) {
  return {
    id,
    name,
    size: 10,
    uploadTime: "2025-05-12T10:00:00Z",
    contentType: "application/zip",
    integrityHash: "a".repeat(64),
    type: "ContentExport",
  };
}

async function listenOn(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

const closeServer = (server: Server) =>
  new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });

/**
 * A pod that signs anyone in and answers the file list with `list`, and a file's download URL with
 * `signedUrl` (a URL in a 200's body, or an answer of its own).
 */
async function fakePod(
  list: (req: IncomingMessage, res: ServerResponse) => void,
  signedUrl?: string | ((res: ServerResponse) => void),
) {
  let listed = 0;
  const { server, url } = await listenOn((req, res) => {
    const path = new URL(req.url ?? "/", "http://pod").pathname;
    const json = (body: unknown) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (path === "/login/pubkey/authenticate") return json({ token: "session" });
    if (path === "/login/idm/tokens") return json({ token_type: "Bearer", expires_in: 3600, access_token: "files" });
    if (path === "/files/v1/") {
      listed++;
      return list(req, res);
    }
    if (typeof signedUrl === "function" && path.startsWith("/files/v1/")) return signedUrl(res);
    if (signedUrl && path.startsWith("/files/v1/")) return json({ signedUrl });
    res.writeHead(404).end();
  });
  const privateKeyPem = generateKeyPairSync("rsa", { modulusLength: 2048 })
    .privateKey.export({ type: "pkcs8", format: "pem" })
    .toString();
  return {
    settings: { podUrl: url, botUsername: "bot", privateKeyPem },
    listRequests: () => listed,
    close: () => closeServer(server),
  };
}

/** Forwards every request to the pod; `afterAnswer` runs once the pod has answered, before the client sees it. */
async function podProxy(podUrl: string, afterAnswer: (url: URL) => Promise<void>) {
  const { server, url } = await listenOn((req, res) => {
    void (async () => {
      const target = new URL(req.url ?? "/", podUrl);
      const chunks: Buffer[] = [];
      for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
      const headers = Object.fromEntries(
        Object.entries(req.headers).filter(([name]) => !["host", "connection", "content-length"].includes(name)),
      ) as Record<string, string>;
      const answer = await fetch(target, {
        method: req.method,
        headers,
        body: chunks.length > 0 ? Buffer.concat(chunks) : undefined,
      });
      const body = Buffer.from(await answer.arrayBuffer());
      await afterAnswer(target);
      const passed = Object.fromEntries(
        [...answer.headers].filter(([name]) => !["content-length", "transfer-encoding", "connection"].includes(name)),
      );
      res.writeHead(answer.status, passed);
      res.end(body);
    })();
  });
  return { url, close: () => closeServer(server) };
}
