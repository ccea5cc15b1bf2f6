import type { ConnectorHealth, ConnectorStatus, RunStatus } from "@/lib/generated/prisma/client";

/** What the dashboard, its filter and the flyout call a connector. */
export const CONNECTOR_STATES = ["CONNECTED", "NEEDS_ATTENTION", "DEGRADED", "PAUSED", "DRAFT"] as const;
export type ConnectorState = (typeof CONNECTOR_STATES)[number];

export const CONNECTOR_STATE_LABELS: Record<ConnectorState, string> = {
  CONNECTED: "Connected",
  NEEDS_ATTENTION: "Needs attention",
  DEGRADED: "Degraded",
  PAUSED: "Paused",
  DRAFT: "Draft",
};

export type HealthFacts = {
  status: ConnectorStatus;
  health: ConnectorHealth;
  healthReason: string | null;
  healthSince: Date | null;
};

export type ConnectorHealthView = { state: ConnectorState; reason: string | null; since: Date | null };

/**
 * A draft or paused connector is that; an active one is as healthy as the worker last found it. A
 * connector whose last two finished runs FAILED is never "Connected", whatever failed them.
 * `lastFinished`: statuses of its latest finished runs, newest first.
 */
export function connectorHealthView(connector: HealthFacts, lastFinished: RunStatus[]): ConnectorHealthView {
  if (connector.status === "DRAFT" || connector.status === "PAUSED") {
    return { state: connector.status, reason: null, since: null };
  }
  if (connector.health !== "HEALTHY") {
    return { state: connector.health, reason: connector.healthReason, since: connector.healthSince };
  }
  if (lastFinished.length >= 2 && lastFinished.slice(0, 2).every((status) => status === "FAILED")) {
    return { state: "DEGRADED", reason: "The last two runs failed: see their errors in the run history.", since: null };
  }
  return { state: "CONNECTED", reason: null, since: connector.healthSince };
}
