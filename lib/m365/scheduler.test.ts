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
