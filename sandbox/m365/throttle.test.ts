import { describe, expect, it } from "vitest";
import { limitsSchema } from "./options";
import { createThrottle } from "./throttle";

describe("throttle usage", () => {
  it("counts each mailbox's admitted requests and upload bytes over every app, never a refused one", () => {
    const limits = limitsSchema.parse({ requestsPerWindow: 3, uploadBytesPerWindow: 1_000 });
    const throttle = createThrottle(() => limits);
    const admit = (app: string, mailbox: string, bytes: number) => {
      const decision = throttle.acquire(app, mailbox, bytes);
      if (decision.ok) decision.release();
      return decision.ok ? "ok" : decision.reason;
    };
    expect(admit("app-1", "user-1", 400)).toBe("ok");
    expect(admit("app-1", "user-1", 700)).toBe("upload");
    expect(admit("app-1", "user-1", 0)).toBe("ok");
    expect(admit("app-2", "user-1", 500)).toBe("ok");
    expect(admit("app-1", "user-2", 0)).toBe("ok");
    expect(admit("app-1", "user-1", 0)).toBe("ok");
    expect(admit("app-1", "user-1", 0)).toBe("requests");
    const usage = Object.fromEntries(throttle.usage().map(({ mailboxId, ...rest }) => [mailboxId, rest]));
    expect(usage).toEqual({ "user-1": { requests: 4, uploadBytes: 900 }, "user-2": { requests: 1, uploadBytes: 0 } });
  });
});
