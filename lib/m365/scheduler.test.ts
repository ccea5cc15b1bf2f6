import { describe, expect, it, vi } from "vitest";
import { createScheduler, type HttpOutcome } from "./scheduler";

const ok = (): HttpOutcome => ({ status: 201, headers: new Headers() });

describe("scheduler and an abandoned attempt", () => {
  it("never sends a queued request once its attempt is aborted", async () => {
    const scheduler = createScheduler({ perMailboxConcurrency: 1 });
    let releaseFirst: (() => void) | undefined;
    const first = scheduler.schedule(
      "a@bank.example",
      () => new Promise<HttpOutcome>((resolve) => (releaseFirst = () => resolve(ok()))),
    );
    await vi.waitFor(() => expect(releaseFirst).toBeDefined());

    const attempt = new AbortController();
    let sent = false;
    const queued = scheduler.schedule("a@bank.example", () => ((sent = true), Promise.resolve(ok())), {
      signal: attempt.signal,
    });
    attempt.abort(new Error("attempt timed out"));
    releaseFirst!();

    await expect(first).resolves.toMatchObject({ status: 201 });
    await expect(queued).rejects.toThrow("attempt timed out");
    expect(sent).toBe(false);
  });

  it("does not retry after an abort during a Retry-After pause", async () => {
    const scheduler = createScheduler({ maxAttempts: 5 });
    const attempt = new AbortController();
    let calls = 0;
    const throttled = scheduler.schedule(
      "b@bank.example",
      () => {
        calls += 1;
        setTimeout(() => attempt.abort(new Error("given up")), 10);
        return Promise.resolve({ status: 429, headers: new Headers({ "retry-after": "1" }) });
      },
      { signal: attempt.signal },
    );
    await expect(throttled).rejects.toThrow("given up");
    expect(calls).toBe(1);
  });
});

describe("scheduler and the per-mailbox upload byte budget", () => {
  it("holds an upload past the budget until the window frees it, without blocking other requests", async () => {
    const scheduler = createScheduler({ perMailboxConcurrency: 1, uploadBudget: { bytes: 1000, windowMs: 300 } });
    const sentAt: Record<string, number> = {};
    const send = (name: string) => () => ((sentAt[name] = Date.now()), Promise.resolve(ok()));
    const started = Date.now();
    await scheduler.schedule("c@bank.example", send("first"), { uploadBytes: 800 });
    const second = scheduler.schedule("c@bank.example", send("second"), { uploadBytes: 800 });
    // A plain request goes ahead while the upload waits for room (it holds none of the mailbox's slots).
    await scheduler.schedule("c@bank.example", send("plain"));
    expect(sentAt.second).toBeUndefined();
    // Another mailbox has a budget of its own.
    await scheduler.schedule("d@bank.example", send("elsewhere"), { uploadBytes: 800 });
    await second;
    expect(sentAt.plain! - started).toBeLessThan(150);
    expect(sentAt.elsewhere! - started).toBeLessThan(150);
    expect(sentAt.second! - sentAt.first!).toBeGreaterThanOrEqual(300);
    expect(scheduler.counters().throttled).toBe(0);
  });
});
