import { describe, expect, it } from "vitest";
import { createSharedLoads } from "./async";

describe("createSharedLoads", () => {
  it("loads once for every holder of a key, and again once the last holder released it", async () => {
    const loads = createSharedLoads<string>();
    let calls = 0;
    const load = () => Promise.resolve(`value ${++calls}`);
    const first = loads.lease("message-1");
    const second = loads.lease("message-1");
    expect(await first.load(load)).toBe("value 1");
    expect(await second.load(load)).toBe("value 1");
    first.release();
    first.release(); // a second release of the same lease changes nothing
    expect(await second.load(load)).toBe("value 1");
    second.release();
    const third = loads.lease("message-1");
    expect(await third.load(load)).toBe("value 2");
  });

  it("forgets a failed load, so the next holder tries again", async () => {
    const loads = createSharedLoads<string>();
    const lease = loads.lease("message-1");
    await expect(lease.load(() => Promise.reject(new Error("blob unavailable")))).rejects.toThrow("blob unavailable");
    expect(await lease.load(() => Promise.resolve("read"))).toBe("read");
  });
});
