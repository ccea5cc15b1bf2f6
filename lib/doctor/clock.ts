// How far a server's clock is from ours, read from the Date header of its answers (RFC 9110 6.6.1:
// an origin server with a clock sends one, to the second).
import type { Outcome } from "./types";

/** An answer's Date header and when (our clock, epoch ms) its headers arrived. */
export type ClockSample = { date: string | null; receivedAt: number };

/** Differences up to this are normal (a Date header has whole seconds, plus the network). */
export const CLOCK_WARN_MS = 30_000;

/** The server's clock minus ours, in ms, from the latest answer with a Date header; undefined without one. */
export function clockOffsetMs(samples: readonly ClockSample[]): number | undefined {
  for (const sample of [...samples].reverse()) {
    const server = sample.date ? Date.parse(sample.date) : NaN;
    // The header drops the milliseconds: the server's time was somewhere in that second.
    if (!Number.isNaN(server)) return server + 500 - sample.receivedAt;
  }
  return undefined;
}

/** Limits beyond which the difference breaks sign-in, when the service has them. */
export type ClockLimits = {
  /** Our clock may be at most this far ahead of the server's. */
  aheadMs: number;
  /** ... and at most this far behind it. */
  behindMs: number;
  /** Why, in one sentence. */
  because: string;
};

/** The clock check of one service: ok, warn above 30 s, fail beyond the limits that break its sign-in. */
export function clockOutcome(service: string, offsetMs: number, limits?: ClockLimits): Outcome {
  const ahead = -offsetMs;
  const size = duration(Math.abs(offsetMs));
  const relation = ahead >= 0 ? "ahead of" : "behind";
  const fix =
    "Keep this server's clock synchronised (NTP: timedatectl status, chronyc tracking or w32tm /query /status), " +
    "and tell the other side's administrators if their clock is the wrong one.";
  if (Math.abs(offsetMs) <= CLOCK_WARN_MS) {
    return {
      status: "ok",
      detail: `This server's clock and ${service}'s agree (${Math.abs(offsetMs) < 1000 ? "to the second" : `within ${size}`}).`,
    };
  }
  const broken = limits && (ahead > limits.aheadMs || -ahead > limits.behindMs);
  return {
    status: broken ? "fail" : "warn",
    detail:
      `This server's clock is ${size} ${relation} ${service}'s. ` +
      (limits
        ? `${limits.because} ${broken ? "With this difference sign-in fails." : "Sign-in still works, but little margin is left."}`
        : "Tokens and signed requests assume clocks that agree."),
    fix,
  };
}

export function duration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 120) return `${seconds} second${seconds === 1 ? "" : "s"}`;
  const minutes = Math.round(seconds / 60);
  return minutes < 120 ? `${minutes} minutes` : `${Math.round(minutes / 60)} hours`;
}
