import { describe, expect, it } from "vitest";
import { limitsSchema } from "./options";
import { createThrottle } from "./throttle";

describe("throttle usage", () => {
  it("counts each mailbox's requests over every app, refused ones too, and the upload bytes it admitted", () => {
    const limits = limitsSchema.parse({ requestsPerWindow: 3, uploadBytesPerWindow: 1_000 });
    const throttle = createThrottle(() => limits);
    const admit = (app: string, mailbox: string, bytes: number) => {
      const decision = throttle.acquire(app, mailbox, bytes);
      if (decision.ok) decision.release();
      return decision.ok ? "ok" : decision.reason;
    };
    expect(admit("app-1", "user-1", 400)).toBe("ok");
    expect(admit("app-1", "user-1", 700)).toBe("upload"); // refused: its request counts, its bytes do not
    expect(admit("app-1", "user-1", 0)).toBe("ok");
    expect(admit("app-2", "user-1", 500)).toBe("ok");
    expect(admit("app-1", "user-2", 0)).toBe("ok");
    expect(admit("app-1", "user-1", 0)).toBe("requests"); // the refused upload took app-1's third
    expect(admit("app-1", "user-1", 0)).toBe("requests");
    const usage = Object.fromEntries(throttle.usage().map(({ mailboxId, ...rest }) => [mailboxId, rest]));
    expect(usage).toEqual({ "user-1": { requests: 6, uploadBytes: 900 }, "user-2": { requests: 1, uploadBytes: 0 } });
  });

  it("counts a request refused for concurrency against the mailbox's request budget", () => {
    const limits = limitsSchema.parse({ concurrentRequests: 1, requestsPerWindow: 2 });
    const throttle = createThrottle(() => limits);
    const first = throttle.acquire("app-1", "user-1", 0);
    expect(first.ok).toBe(true);
    expect(throttle.acquire("app-1", "user-1", 0)).toMatchObject({ ok: false, reason: "concurrency" });
    if (first.ok) first.release();
    expect(throttle.acquire("app-1", "user-1", 0)).toMatchObject({ ok: false, reason: "requests" });
  });
});
