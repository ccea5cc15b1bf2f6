import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { canRun, startHarness, type Harness } from "@/lib/testing";
import { runImport } from "./run";

describe.skipIf(!canRun)("a connector without a key manager URL, on a pod with simplified key delivery", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      seed: "no-key-manager",
      users: 5,
      messages: 30,
      largeAttachments: false,
      simplifiedKeyDelivery: true,
    });
  });
  afterAll(() => h?.close());

  it("imports the service account's conversations without ever signing in to a key manager", async () => {
    expect(h.connector.keyManagerUrl).toBeNull();
    const summary = await runImport(await h.newRun(), { workerId: "test-worker", environment: h.environment });
    expect(summary).toMatchObject({ status: "SUCCEEDED", counts: { failed: 0 } });
    expect(summary.counts.imported).toBeGreaterThan(0);
    expect(h.symphony.stats.byRoute["POST /relay/pubkey/authenticate"] ?? 0).toBe(0);
  });
});
