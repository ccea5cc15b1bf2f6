import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { filesGet, filesToken, listAll, sha256, signedUrl, type FileMetadata } from "./export-test-client";
import { startSymphonySandbox, type SymphonySandbox } from "./index";
import { loginHeaders } from "./test-client";

const END = Date.UTC(2025, 0, 31, 12);
let sandbox: SymphonySandbox;
let token: string;
beforeAll(async () => {
  sandbox = await startSymphonySandbox({
    seed: "ce-api",
    org: { users: 8, messages: 80, largeAttachments: false, end: END, periodDays: 30 },
    contentExport: { signedUrlTtlMs: 1000 },
  });
  token = await filesToken(sandbox);
});
afterAll(() => sandbox.close());

const list = (query: string) => filesGet(sandbox, token, `/files/v1/?type=ContentExport${query}`);

describe("sym-files token", () => {
  it("is issued for a valid session with scope sym-files, as the spec's JwtToken", async () => {
    const { sessionToken } = await loginHeaders(sandbox);
    const res = await fetch(`${sandbox.podUrl}/login/idm/tokens?scope=sym-files`, {
      method: "POST",
      headers: { sessionToken },
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { token_type: string; expires_in: number; access_token: string };
    expect(body).toMatchObject({ token_type: "Bearer", expires_in: 3600 });
    expect(body.access_token.split(".")).toHaveLength(3);
  });

  it("refuses an unknown session (401), a missing scope (400), and a missing or made-up bearer (401)", async () => {
    const unknown = await fetch(`${sandbox.podUrl}/login/idm/tokens?scope=sym-files`, {
      method: "POST",
      headers: { sessionToken: "nope" },
    });
    expect(unknown.status).toBe(401);
    expect(await unknown.json()).toMatchObject({ error: expect.any(String) as unknown });
    const { sessionToken } = await loginHeaders(sandbox);
    const noScope = await fetch(`${sandbox.podUrl}/login/idm/tokens`, { method: "POST", headers: { sessionToken } });
    expect(noScope.status).toBe(400);
    expect((await fetch(`${sandbox.podUrl}/files/v1/?type=ContentExport`)).status).toBe(401);
    // A session token is not an access token.
    const withSession = await filesGet(sandbox, sessionToken, "/files/v1/?type=ContentExport");
    expect(withSession.status).toBe(401);
    expect(await withSession.json()).toEqual({ error: expect.any(String) as unknown });
  });

  it("expires per expires_in", async () => {
    const short = await startSymphonySandbox({
      seed: "ce-api-ttl",
      org: { users: 4, messages: 4, largeAttachments: false, end: END },
      contentExport: { accessTokenTtlSeconds: 1 },
    });
    try {
      const t = await filesToken(short);
      expect((await filesGet(short, t, "/files/v1/?type=ContentExport")).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 1100));
      expect((await filesGet(short, t, "/files/v1/?type=ContentExport")).status).toBe(401);
    } finally {
      await short.close();
    }
  });

  it("answers 403 when the bot lacks the Content Export Reader role", async () => {
    const noRole = await startSymphonySandbox({
      seed: "ce-api-role",
      org: { users: 4, messages: 4, largeAttachments: false, end: END },
      contentExport: { contentExportReader: false },
    });
    try {
      const { sessionToken } = await loginHeaders(noRole);
      const res = await fetch(`${noRole.podUrl}/login/idm/tokens?scope=sym-files`, {
        method: "POST",
        headers: { sessionToken },
      });
      expect(res.status).toBe(403);
      expect(((await res.json()) as { error: string }).error).toMatch(/Content Export Reader/);
    } finally {
      await noRole.close();
    }
  });
});

describe("file list", () => {
  it("lists every recurring file and its .md5, paged, with X-Total-Count", async () => {
    const files = await sandbox.contentExport!.files();
    const first = await list("&page=1&pageSize=5");
    expect(first.status).toBe(200);
    expect(Number(first.headers.get("x-total-count"))).toBe(files.length * 2);
    expect((await first.json()) as unknown[]).toHaveLength(5);
    const all = await listAll(sandbox, token);
    expect(all).toHaveLength(files.length * 2);
    expect(new Set(all.map((f) => f.id)).size).toBe(all.length);
    // Default order: upload time ascending; each zip is followed by its .md5.
    expect(all.map((f) => f.uploadTime)).toEqual([...all.map((f) => f.uploadTime)].sort());
    expect(all[1]!.name).toBe(`${all[0]!.name}.md5`);
  });

  it("describes a file as the spec's FileMetadata", async () => {
    const [file] = await sandbox.contentExport!.files();
    const [meta] = (await (await list(`&name=${encodeURIComponent(file!.name)}`)).json()) as FileMetadata[];
    expect(meta).toEqual({
      id: file!.id,
      name: file!.name,
      size: file!.size,
      uploadTime: new Date(file!.uploadTime).toISOString(),
      contentType: "application/pgp-encrypted",
      integrityHash: file!.sha256,
      type: "ContentExport",
      encryption: { encryptionKeyId: sandbox.contentExport!.pgp.keyId, alg: "PGP" },
      typeSpecificMetadata: {
        jobType: "SCHEDULED",
        fileFormat: "ACTIANCE",
        startTime: new Date(file!.period.start).toISOString(),
        endTime: new Date(file!.period.end).toISOString(),
        generationDate: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/) as unknown,
      },
    });
    expect(file!.name).toMatch(
      /^e_example-bank_SD-\d{4}-\d{2}-\d{2}-00_ED-\d{4}-\d{2}-\d{2}-00_GD-\d{4}-\d{2}-\d{2}_\d{13}\.zip\.pgp$/,
    );
    expect(sandbox.contentExport!.pgp.keyId).toMatch(/^[0-9a-f]{16}$/);
    const one = await filesGet(sandbox, token, `/files/v1/${file!.id}/metadata?type=ContentExport`);
    expect(await one.json()).toEqual(meta);
  });

  it("filters by upload time, job type, format, period, generation date and name; sorts both ways", async () => {
    const all = await listAll(sandbox, token);
    const middle = all[Math.floor(all.length / 2)]!;
    const after = await listAll(sandbox, token, `&upload-after=${encodeURIComponent(middle.uploadTime)}`);
    expect(after.length).toBeGreaterThan(0);
    expect(after.every((f) => f.uploadTime > middle.uploadTime)).toBe(true);
    const before = await listAll(sandbox, token, `&upload-before=${encodeURIComponent(middle.uploadTime)}`);
    expect(before.length + after.length + all.filter((f) => f.uploadTime === middle.uploadTime).length).toBe(
      all.length,
    );

    const adhoc = await sandbox.contentExport!.addAdhocExport({
      day: middle.typeSpecificMetadata.startTime.slice(0, 10),
    });
    const adhocOnly = await listAll(sandbox, token, "&jobType=ADHOC");
    expect(adhocOnly.map((f) => f.id)).toEqual([adhoc.id, adhoc.md5File!.id]);
    expect(adhoc.name).toMatch(/^e_example-bank_CD-\d{4}-\d{2}-\d{2}_GD-\d{4}-\d{2}-\d{2}_\d{13}\.zip\.pgp$/);
    expect(await listAll(sandbox, token, "&fileFormat=EML")).toEqual([]);
    expect((await listAll(sandbox, token, "&fileFormat=actiance")).length).toBe(all.length + 2);

    const start = middle.typeSpecificMetadata.startTime;
    const later = await listAll(sandbox, token, `&startTime-after=${start}`);
    expect(later.every((f) => f.typeSpecificMetadata.startTime > start)).toBe(true);
    const earlier = await listAll(sandbox, token, `&endTime-before=${middle.typeSpecificMetadata.endTime}`);
    expect(earlier.every((f) => f.typeSpecificMetadata.endTime < middle.typeSpecificMetadata.endTime)).toBe(true);
    const generated = await listAll(sandbox, token, `&generationDate=${middle.typeSpecificMetadata.generationDate}`);
    expect(generated.map((f) => f.id)).toContain(middle.id);
    expect(await listAll(sandbox, token, "&name=.ZIP.PGP.MD5")).toHaveLength(all.length / 2 + 1);

    const bySizeDesc = (await (await list("&sortBy=size&sortOrder=desc&pageSize=100")).json()) as FileMetadata[];
    const sizes = bySizeDesc.map((f) => f.size!);
    expect(sizes).toEqual([...sizes].sort((a, b) => b - a));
  });

  it("refuses bad parameters with 400 {error}", async () => {
    for (const query of [
      "&pageSize=101",
      "&page=0",
      "&sortBy=colour",
      "&sortOrder=DESC",
      "&upload-after=yesterday",
      "&jobType=WEEKLY",
    ]) {
      const res = await list(query);
      expect(res.status, query).toBe(400);
      expect(await res.json()).toEqual({ error: expect.any(String) as unknown });
    }
    expect((await filesGet(sandbox, token, "/files/v1/?type=Other")).status).toBe(400);
    expect((await filesGet(sandbox, token, "/files/v1/nope?type=ContentExport")).status).toBe(404);
  });
});

describe("signed URL download", () => {
  it("serves the bytes whose SHA-256 is the integrityHash, and the .md5 beside them", async () => {
    const [file] = await sandbox.contentExport!.files();
    const res = await filesGet(sandbox, token, `/files/v1/${file!.id}?type=ContentExport`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { message: string; signedUrl: string };
    expect(res.headers.get("location")).toBe(body.signedUrl);
    expect(body.signedUrl.startsWith(sandbox.contentExport!.storageUrl)).toBe(true);
    const bytes = Buffer.from(await (await fetch(body.signedUrl)).arrayBuffer());
    expect(sha256(bytes)).toBe(file!.sha256);
    expect(bytes.length).toBe(file!.size);

    const md5 = await (await fetch(await signedUrl(sandbox, token, file!.md5File!.id))).text();
    expect(md5).toBe(`${file!.md5}  ${file!.name}\n`);

    const ranged = await fetch(body.signedUrl, { headers: { range: "bytes=10-19" } });
    expect(ranged.status).toBe(206);
    expect(Buffer.from(await ranged.arrayBuffer())).toEqual(bytes.subarray(10, 20));
  });

  it("refuses an Authorization header (400), a changed signature (403) and an expired URL (403)", async () => {
    const [file] = await sandbox.contentExport!.files();
    const url = await signedUrl(sandbox, token, file!.id);
    expect((await fetch(url, { headers: { authorization: `Bearer ${token}` } })).status).toBe(400);
    const forged = url.replace(/X-Signature=([0-9a-f])/, (_, c: string) => `X-Signature=${c === "0" ? "1" : "0"}`);
    expect((await fetch(forged)).status).toBe(403);
    const otherFile = url.replace(file!.id, (await sandbox.contentExport!.files())[1]!.id);
    expect((await fetch(otherFile)).status).toBe(403);
    await new Promise((resolve) => setTimeout(resolve, 1050));
    const expired = await fetch(url);
    expect(expired.status).toBe(403);
    expect(((await expired.json()) as { error: string }).error).toMatch(/expired/);
  });
});

describe("list and download faults", () => {
  it("answer exact shares of 429 (with Retry-After) and 5xx", async () => {
    sandbox.contentExport!.setExportFaults({ listThrottleShare: 0.5, retryAfterSeconds: 3 });
    const statuses = [];
    for (let i = 0; i < 4; i++) {
      const res = await list("");
      statuses.push(res.status);
      if (res.status === 429) expect(res.headers.get("retry-after")).toBe("3");
    }
    expect(statuses).toEqual([200, 429, 200, 429]);

    sandbox.contentExport!.setExportFaults({ listThrottleShare: 0, listServerErrorShare: 1 });
    const failed = await list("");
    expect(failed.status).toBe(500);
    expect(await failed.json()).toEqual({ error: "Failed to retrieve file list" });
    const [file] = await sandbox.contentExport!.files();
    const downloads = async () => {
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push((await fetch(await signedUrl(sandbox, token, file!.id))).status);
      return statuses;
    };
    sandbox.contentExport!.setExportFaults({ listServerErrorShare: 0, downloadServerErrorShare: 0.5 });
    expect(await downloads()).toEqual([200, 503, 200, 503]);
    sandbox.contentExport!.setExportFaults({ downloadServerErrorShare: 0, downloadThrottleShare: 0.25 });
    expect(await downloads()).toEqual([200, 200, 200, 429]);
    sandbox.contentExport!.setExportFaults({ downloadThrottleShare: 0 });
    expect(sandbox.stats.byRoute["GET /files/v1/"]).toBeGreaterThan(0);
  });
});
