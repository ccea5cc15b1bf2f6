// Fault injection and request counting for the sandbox's public endpoints.
import { z } from "zod";

export const faultsSchema = z.object({
  latencyMs: z.number().int().min(0).max(60_000),
  /** Share of requests answered 503 (0..1). */
  serverErrorShare: z.number().min(0).max(1),
  /** Share of requests answered 429 with Retry-After (0..1). */
  throttleShare: z.number().min(0).max(1),
  retryAfterSeconds: z.number().int().min(0).max(3600),
});
export type Faults = z.infer<typeof faultsSchema>;

export const NO_FAULTS: Faults = { latencyMs: 0, serverErrorShare: 0, throttleShare: 0, retryAfterSeconds: 1 };

export type FaultGate = {
  current(): Faults;
  set(change: Partial<Faults>): Faults;
  decide(): "throttle" | "error" | "pass";
};

/**
 * Shares are applied by error diffusion rather than at random: with a share of 0.25 exactly every
 * fourth request fails, so tests can count on it.
 */
export function faultGate(initial: Partial<Faults> = {}): FaultGate {
  let faults = faultsSchema.parse({ ...NO_FAULTS, ...initial });
  let throttleDebt = 0;
  let errorDebt = 0;
  return {
    current: () => faults,
    set(change) {
      faults = faultsSchema.parse({ ...faults, ...change });
      throttleDebt = 0;
      errorDebt = 0;
      return faults;
    },
    decide() {
      throttleDebt += faults.throttleShare;
      errorDebt += faults.serverErrorShare;
      if (throttleDebt >= 1 - 1e-9) {
        throttleDebt -= 1;
        return "throttle";
      }
      if (errorDebt >= 1 - 1e-9) {
        errorDebt -= 1;
        return "error";
      }
      return "pass";
    },
  };
}

export type Stats = { requests: number; byRoute: Record<string, number>; byStatus: Record<string, number> };

export function emptyStats(): Stats {
  return { requests: 0, byRoute: {}, byStatus: {} };
}

export function countRequest(stats: Stats, route: string, status: number): void {
  stats.requests++;
  stats.byRoute[route] = (stats.byRoute[route] ?? 0) + 1;
  stats.byStatus[status] = (stats.byStatus[status] ?? 0) + 1;
}
