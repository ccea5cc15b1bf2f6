import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it, vi } from "vitest";
import {
  createSemaphore,
  createSharedLoads,
  expiringLoads,
  forEachLimit,
  groupWithin,
  refreshedInBackground,
} from "./async";

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

describe("createSemaphore", () => {
  it("grants in order of asking, a large request not passed by smaller ones, and one larger than the limit alone", async () => {
    const bytes = createSemaphore(10);
    const granted: string[] = [];
    const ask = (name: string, n: number) => bytes.acquire(n).then(() => void granted.push(name));
    await ask("a", 6);
    const waiting = [ask("large", 8), ask("small", 1), ask("over", 25)];
    await sleep(0);
    // 4 are free: "small" fits, but waits behind "large", which came first.
    expect(granted).toEqual(["a"]);
    bytes.release(6);
    await sleep(0);
    expect(granted).toEqual(["a", "large", "small"]);
    expect(bytes.used()).toBe(9);
    bytes.release(8);
    bytes.release(1);
    await Promise.all(waiting);
    // Over the limit: it runs once nothing else does, never for ever queued.
    expect(granted).toEqual(["a", "large", "small", "over"]);
    bytes.release(25);
    expect(bytes.idle()).toBe(true);
  });
});

describe("forEachLimit", () => {
  async function* pagesOf<T>(pages: T[][], listed: number[] = []) {
    for (const [n, page] of pages.entries()) {
      await Promise.resolve();
      listed.push(n);
      yield page;
    }
  }

  it("takes the next page's items while a long item of the first page is still running", async () => {
    let releaseLong!: () => void;
    const long = new Promise<void>((resolve) => (releaseLong = resolve));
    const finished: string[] = [];
    const done = forEachLimit(pagesOf([["long", "a"], ["b", "c"], ["d"]]), 2, async (item) => {
      if (item === "long") await long;
      else await new Promise((resolve) => setTimeout(resolve, 5));
      finished.push(item);
    });
    await expect.poll(() => finished).toEqual(["a", "b", "c", "d"]);
    releaseLong();
    await done;
    expect(finished).toEqual(["a", "b", "c", "d", "long"]);
  });

  it("never runs more than the limit at once, and lists the next page only when a lane needs it", async () => {
    let running = 0;
    let most = 0;
    const listed: number[] = [];
    const seen: number[] = [];
    const pages = Array.from({ length: 5 }, (_, p) => Array.from({ length: 4 }, (_, i) => p * 4 + i));
    await forEachLimit(pagesOf(pages, listed), 3, async (item) => {
      running += 1;
      most = Math.max(most, running);
      seen.push(item);
      // Page 1 is listed only once page 0's items have all been taken.
      if (item < 4) expect(listed).toEqual([0]);
      await new Promise((resolve) => setTimeout(resolve, 1 + (item % 3)));
      running -= 1;
    });
    expect(most).toBe(3);
    expect(seen.toSorted((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it("stops taking items after a failure and rejects with it", async () => {
    const started: string[] = [];
    await expect(
      forEachLimit(
        pagesOf([
          ["a", "bad"],
          ["b", "c", "d"],
        ]),
        2,
        async (item) => {
          started.push(item);
          if (item === "bad") throw new Error("unit failed");
          await new Promise((resolve) => setTimeout(resolve, 20));
        },
      ),
    ).rejects.toThrow("unit failed");
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(started).toEqual(["a", "bad"]);
  });

  it("rejects when listing the pages fails", async () => {
    async function* failing() {
      yield await Promise.resolve(["a"]);
      throw new Error("list refused");
    }
    const done: string[] = [];
    await expect(
      forEachLimit(failing(), 2, (item) => {
        done.push(item);
        return Promise.resolve();
      }),
    ).rejects.toThrow("list refused");
    expect(done).toEqual(["a"]);
  });
});

describe("refreshedInBackground", () => {
  it("answers at once with the last value, loads again once it is old, and keeps it when a load fails", async () => {
    const answers: Array<() => Promise<string[]>> = [
      () => Promise.resolve(["ann"]),
      () => Promise.reject(new Error("database restarting")),
      () => Promise.resolve(["bob"]),
    ];
    let loads = 0;
    const busiest = refreshedInBackground(() => answers[loads++]!(), { everyMs: 20, initial: [] as string[] });
    expect(busiest.current()).toEqual([]);
    await busiest.close();
    expect(busiest.current()).toEqual(["ann"]); // too soon for another load
    expect(loads).toBe(1);
    await sleep(25);
    busiest.current();
    await busiest.close();
    expect(busiest.current()).toEqual(["ann"]); // the failed load kept the last value
    await sleep(25);
    busiest.current();
    await busiest.close();
    expect(busiest.current()).toEqual(["bob"]);
    expect(loads).toBe(3);
  });

  it("waits long enough between slow loads to keep them to their share of the time", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      const advance = (ms: number) => vi.setSystemTime(Date.now() + ms);
      let loads = 0;
      const slow = refreshedInBackground(
        () => {
          advance(40); // each load takes 40 ms
          return Promise.resolve(++loads);
        },
        { everyMs: 10, initial: 0, busyShare: 0.25 },
      );
      slow.current();
      await slow.close();
      expect(slow.current()).toBe(1);
      advance(150); // past everyMs, but a 40 ms load at a quarter of the time waits 160 ms
      slow.current();
      expect(loads).toBe(1);
      advance(10);
      slow.current();
      await slow.close();
      expect(loads).toBe(2);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("groupWithin", () => {
  it("hands a group over when it is full, when the next entry would overweigh it, or when called", () => {
    const groups: string[][] = [];
    const grouper = groupWithin<string>({ maxItems: 3, maxWeight: 10, maxDelayMs: 60_000 }, (group) =>
      groups.push(group),
    );
    for (const entry of ["a", "b", "c", "d"]) grouper.add(entry, 1);
    expect(groups).toEqual([["a", "b", "c"]]);
    grouper.add("heavy", 8); // 1 + 8 fits
    grouper.add("next", 2); // 9 + 2 would not: the group goes first
    expect(groups).toEqual([
      ["a", "b", "c"],
      ["d", "heavy"],
    ]);
    grouper.add("whole", 8); // reaching the weight exactly closes the group it joined
    expect(groups.at(-1)).toEqual(["next", "whole"]);
    grouper.add("last", 1);
    expect(grouper.size).toBe(1);
    grouper.flush();
    grouper.flush(); // nothing left: no empty group
    expect(groups).toEqual([["a", "b", "c"], ["d", "heavy"], ["next", "whole"], ["last"]]);
  });

  it("hands over a group that is not full once the delay after its first entry has passed", async () => {
    const groups: number[][] = [];
    const grouper = groupWithin<number>({ maxItems: 100, maxDelayMs: 20 }, (group) => groups.push(group));
    grouper.add(1);
    await sleep(5);
    grouper.add(2); // joins, without putting the deadline back
    expect(groups).toEqual([]);
    await sleep(30);
    expect(groups).toEqual([[1, 2]]);
    grouper.add(3);
    await sleep(30);
    expect(groups).toEqual([[1, 2], [3]]);
  });
});

describe("expiringLoads", () => {
  it("loads a key once while it is fresh, again once it expired, and keeps only the newest entries", async () => {
    vi.useFakeTimers();
    try {
      const loads: string[] = [];
      const cache = expiringLoads<string>(1000, 2);
      const load = (key: string) => {
        loads.push(key);
        return Promise.resolve(`value of ${key}`);
      };
      expect(await cache.get("a", load)).toBe("value of a");
      await cache.get("a", load);
      expect(loads).toEqual(["a"]);
      vi.advanceTimersByTime(1000);
      await cache.get("a", load);
      expect(loads).toEqual(["a", "a"]);
      await cache.get("b", load);
      await cache.get("c", load); // "a" is the oldest of three: let go
      await cache.get("a", load);
      expect(loads).toEqual(["a", "a", "b", "c", "a"]);
    } finally {
      vi.useRealTimers();
    }
  });

  it("forgets a failed load, and a key deleted", async () => {
    const cache = expiringLoads<number>(60_000, 10);
    await expect(cache.get("k", () => Promise.reject(new Error("down")))).rejects.toThrow("down");
    expect(await cache.get("k", () => Promise.resolve(1))).toBe(1);
    cache.delete("k");
    expect(await cache.get("k", () => Promise.resolve(2))).toBe(2);
  });
});
