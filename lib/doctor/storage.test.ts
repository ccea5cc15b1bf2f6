import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { canRun, createDatabase } from "@/lib/testing";
import { freePort } from "@/sandbox/ports";
import { checkHealth, runDoctor, sharedHealthCheck, type DoctorSettings } from "./index";
import { checkOf, testSettings } from "./test-support";

// The database and blob storage checks against the real PostgreSQL and Azurite of the tests, each
// failure made to happen: nothing listening, wrong password, missing database, no migrations,
// refused storage key, no connection string.
function settings(
  change: { database?: Partial<DoctorSettings["database"]>; storage?: Partial<DoctorSettings["storage"]> } = {},
): DoctorSettings {
  const base = testSettings({}, `doctor-${randomBytes(4).toString("hex")}`);
  return {
    ...base,
    database: { ...base.database, ...change.database },
    storage: { ...base.storage, ...change.storage },
  };
}

function withUrl(change: (url: URL) => void): string {
  const url = new URL(process.env.DATABASE_URL!);
  change(url);
  return url.toString();
}

describe.skipIf(!canRun)("doctor: storage and database", () => {
  it("reports the database reachable, every migration applied, and the staging container writable", async () => {
    const report = await runDoctor(settings(), { connectorIds: [] });
    const group = report.groups.find((g) => g.id === "storage")!;
    expect(group.title).toBe("Storage and database");
    expect(group.checks.map((c) => [c.id, c.status])).toEqual([
      ["database", "ok"],
      ["database.migrations", "ok"],
      ["storage", "ok"],
    ]);
    expect(checkOf(report, "database").detail).toMatch(/^PostgreSQL \S+ at .+ answered, database connector_test_/);
    expect(checkOf(report, "database.migrations").detail).toMatch(
      /^All \d+ migrations are applied \(latest \d+_\w+\)\.$/,
    );
    expect(checkOf(report, "storage").detail).toMatch(
      /^Container doctor-\w+ at http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1 was created and takes writes\.$/,
    );
  });

  it("says nothing accepts connections where DATABASE_URL points, skips what needs the database, and hides the password", async () => {
    const port = await freePort();
    const password = `pw-${randomBytes(8).toString("hex")}`;
    const url = `postgresql://connector:${password}@127.0.0.1:${port}/connector`;
    const report = await runDoctor(settings({ database: { url } }), { connectorIds: [] });
    expect(checkOf(report, "database")).toMatchObject({
      status: "fail",
      detail: `Nothing accepts connections at 127.0.0.1:${port}.`,
      fix: expect.stringContaining("Check DATABASE_URL") as unknown,
    });
    expect(checkOf(report, "database.migrations")).toMatchObject({
      status: "skipped",
      detail: "The database could not be reached.",
    });
    expect(checkOf(report, "m365.consent")).toMatchObject({
      status: "skipped",
      detail: expect.stringMatching(/database could not be read/) as unknown,
    });
    expect(report.ok).toBe(false);
    expect(JSON.stringify(report)).not.toContain(password);
  });

  it("says when PostgreSQL refuses the password, or has no such database", async () => {
    const wrongPassword = withUrl((url) => (url.password = "not-the-password"));
    const refused = await runDoctor(settings({ database: { url: wrongPassword } }), { connectorIds: [] });
    expect(checkOf(refused, "database").detail).toMatch(/refused the user name or password of user \w+\.$/);
    expect(JSON.stringify(refused)).not.toContain("not-the-password");

    const missing = withUrl((url) => (url.pathname = "/doctor_no_such_database"));
    const report = await runDoctor(settings({ database: { url: missing } }), { connectorIds: [] });
    expect(checkOf(report, "database")).toMatchObject({
      status: "fail",
      detail: expect.stringMatching(/has no database doctor_no_such_database\.$/) as unknown,
      fix: expect.stringMatching(/CREATE DATABASE/) as unknown,
    });
  });

  describe("an empty database", () => {
    let empty: Awaited<ReturnType<typeof createDatabase>>;
    beforeAll(async () => {
      empty = await createDatabase("doctor_empty");
    });
    afterAll(() => empty?.drop());

    it("says no migration is applied and how to apply them", async () => {
      const report = await runDoctor(settings({ database: { url: empty.url } }), { connectorIds: [] });
      expect(checkOf(report, "database").status).toBe("ok");
      expect(checkOf(report, "database.migrations")).toMatchObject({
        status: "fail",
        detail: expect.stringMatching(
          /^No migration is applied: the database is empty \(this version has \d+\)\.$/,
        ) as unknown,
        fix: expect.stringContaining("npm run db:migrate") as unknown,
      });
    });
  });

  it("says DATABASE_URL and AZURE_STORAGE_CONNECTION_STRING are not set", async () => {
    const report = await runDoctor(
      settings({ database: { url: undefined }, storage: { connectionString: undefined } }),
      { connectorIds: [] },
    );
    expect(checkOf(report, "database")).toMatchObject({ status: "fail", detail: "DATABASE_URL is not set." });
    expect(checkOf(report, "storage")).toMatchObject({
      status: "fail",
      detail: "AZURE_STORAGE_CONNECTION_STRING is not set.",
    });
  });

  it("says the storage account cannot be reached, refused the key, or the connection string is not one", async () => {
    const port = await freePort();
    const key = randomBytes(64).toString("base64");
    const down = `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${key};BlobEndpoint=http://127.0.0.1:${port}/devstoreaccount1;`;
    const unreachable = await runDoctor(settings({ storage: { connectionString: down } }), { connectorIds: [] });
    expect(checkOf(unreachable, "storage")).toMatchObject({
      status: "fail",
      detail: `The storage account at http://127.0.0.1:${port}/devstoreaccount1 cannot be reached: nothing accepts connections there.`,
    });
    expect(JSON.stringify(unreachable)).not.toContain(key);

    const wrongKey = process.env.AZURE_STORAGE_CONNECTION_STRING!.replace(/AccountKey=[^;]+/, `AccountKey=${key}`);
    const refused = await runDoctor(settings({ storage: { connectionString: wrongKey } }), { connectorIds: [] });
    expect(checkOf(refused, "storage")).toMatchObject({
      status: "fail",
      detail: expect.stringMatching(/refused the credentials of the connection string \(HTTP 403/) as unknown,
      fix: expect.stringContaining("Access keys") as unknown,
    });
    expect(JSON.stringify(refused)).not.toContain(key);

    const garbage = await runDoctor(settings({ storage: { connectionString: "not a connection string" } }), {
      connectorIds: [],
    });
    expect(checkOf(garbage, "storage")).toMatchObject({
      status: "fail",
      detail: "AZURE_STORAGE_CONNECTION_STRING is not a storage connection string.",
    });
  });

  it("GET /api/health's probes say what is down without saying why (it answers anyone)", async () => {
    expect(await checkHealth(settings())).toEqual({ ok: true, database: { ok: true }, blobStore: { ok: true } });
    const port = await freePort();
    const health = await checkHealth(
      settings({
        database: { url: `postgresql://connector:secret@127.0.0.1:${port}/connector` },
        storage: { connectionString: "not a connection string" },
      }),
    );
    expect(health).toEqual({
      ok: false,
      database: { ok: false, error: "down: an admin sees why on the Health page or with npm run doctor" },
      blobStore: { ok: false, error: "down: an admin sees why on the Health page or with npm run doctor" },
    });
  });

  it("GET /api/health checks once for many requests at a time, reuses a healthy answer, never an unhealthy one", async () => {
    let checks = 0;
    const counted = (of: DoctorSettings) => () => (checks++, checkHealth(of));
    const healthy = sharedHealthCheck(counted(settings()), 60_000);
    const answers = await Promise.all(Array.from({ length: 20 }, () => healthy()));
    expect(answers.every((health) => health.ok)).toBe(true);
    await healthy();
    expect(checks).toBe(1);

    checks = 0;
    const port = await freePort();
    const down = sharedHealthCheck(
      counted(settings({ database: { url: `postgresql://connector:secret@127.0.0.1:${port}/connector` } })),
      60_000,
    );
    const [first, second] = await Promise.all([down(), down()]);
    expect([first.ok, second.ok, checks]).toEqual([false, false, 1]);
    await down();
    expect(checks).toBe(2);
  });
});
