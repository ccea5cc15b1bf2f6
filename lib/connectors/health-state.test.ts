import { describe, expect, it } from "vitest";
import { connectorHealthView, type HealthFacts } from "./health-state";

const healthy: HealthFacts = { status: "ACTIVE", health: "HEALTHY", healthReason: null, healthSince: null };

describe("connectorHealthView", () => {
  it("never calls a connector whose last two finished runs failed Connected, whatever failed them", () => {
    expect(connectorHealthView(healthy, ["FAILED", "FAILED", "SUCCEEDED"])).toMatchObject({
      state: "DEGRADED",
      reason: "The last two runs failed: see their errors in the run history.",
    });
    expect(connectorHealthView(healthy, ["FAILED", "SUCCEEDED"]).state).toBe("CONNECTED");
    expect(connectorHealthView(healthy, ["FAILED"]).state).toBe("CONNECTED");
  });

  it("shows what the worker found for an active connector, and Paused or Draft before anything else", () => {
    const since = new Date("2026-12-02T14:00:00Z");
    const refused = {
      ...healthy,
      health: "NEEDS_ATTENTION" as const,
      healthReason: "Symphony refused the sign-in",
      healthSince: since,
    };
    expect(connectorHealthView(refused, [])).toEqual({
      state: "NEEDS_ATTENTION",
      reason: "Symphony refused the sign-in",
      since,
    });
    expect(connectorHealthView({ ...refused, status: "PAUSED" }, ["FAILED", "FAILED"]).state).toBe("PAUSED");
    expect(connectorHealthView({ ...healthy, status: "DRAFT" }, []).state).toBe("DRAFT");
  });
});
