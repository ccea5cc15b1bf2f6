import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSymphonySandbox, type SymphonySandbox } from "./index";
import { loginHeaders } from "./test-client";

let sandbox: SymphonySandbox;
let headers: Record<string, string>;
beforeAll(async () => {
  sandbox = await startSymphonySandbox({ seed: "faults", org: { users: 6, messages: 20 } });
  headers = await loginHeaders(sandbox);
});
afterAll(() => sandbox.close());

const usersUrl = () => `${sandbox.podUrl}/pod/v2/admin/user/list`;
const setFaults = (faults: unknown) =>
  fetch(`${sandbox.podUrl}/sandbox/faults`, { method: "PUT", body: JSON.stringify(faults) });

describe("fault injection", () => {
  it("answers the configured share with 503 and counts requests", async () => {
    expect((await setFaults({ serverErrorShare: 0.25 })).status).toBe(200);
    const before = sandbox.stats.byStatus["503"] ?? 0;
    const statuses = await Promise.all(
      Array.from({ length: 40 }, () => fetch(usersUrl(), { headers }).then((r) => r.status)),
    );
    expect(statuses.filter((s) => s === 503)).toHaveLength(10);
    expect(statuses.filter((s) => s === 200)).toHaveLength(30);
    expect((sandbox.stats.byStatus["503"] ?? 0) - before).toBe(10);
    expect(sandbox.stats.byRoute["GET /pod/v2/admin/user/list"]).toBeGreaterThanOrEqual(40);
    await setFaults({ serverErrorShare: 0 });
  });

  it("throttles with 429 and Retry-After", async () => {
    sandbox.setFaults({ throttleShare: 0.5, retryAfterSeconds: 7 });
    const responses = await Promise.all(Array.from({ length: 10 }, () => fetch(usersUrl(), { headers })));
    const throttled = responses.filter((r) => r.status === 429);
    expect(throttled).toHaveLength(5);
    expect(throttled.every((r) => r.headers.get("retry-after") === "7")).toBe(true);
    expect(await throttled[0]!.json()).toEqual({ code: 429, message: expect.any(String) as unknown });
    sandbox.setFaults({ throttleShare: 0 });
  });

  it("adds latency", async () => {
    sandbox.setFaults({ latencyMs: 200 });
    const started = Date.now();
    expect((await fetch(usersUrl(), { headers })).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    sandbox.setFaults({ latencyMs: 0 });
  });

  it("refuses invalid settings", async () => {
    const res = await setFaults({ serverErrorShare: 2 });
    expect(res.status).toBe(400);
    expect(sandbox.setFaults({}).serverErrorShare).toBe(0);
  });
});
