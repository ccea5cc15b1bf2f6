import { describe, expect, it } from "vitest";
import { hasBearerSecret } from "./bearer";

describe("hasBearerSecret", () => {
  const secret = "a-long-cron-secret-value";
  it("accepts the exact secret only", () => {
    expect(hasBearerSecret(`Bearer ${secret}`, secret)).toBe(true);
    expect(hasBearerSecret(`Bearer ${secret}x`, secret)).toBe(false);
    expect(hasBearerSecret(`bearer ${secret}`, secret)).toBe(false);
    expect(hasBearerSecret(secret, secret)).toBe(false);
    expect(hasBearerSecret(null, secret)).toBe(false);
  });
});
