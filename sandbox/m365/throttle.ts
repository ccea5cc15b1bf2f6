import type { Limits } from "./options";

type Window = { startedAt: number; used: number };
type Bucket = {
  mailboxId: string;
  inFlight: number;
  requests: Window;
  uploads: Window;
  /** Since the bucket was made (or reset), over every window: requests counted, bytes admitted. */
  counted: { requests: number; uploadBytes: number };
};

/** What one mailbox took of its apps' limits: every request counted (refused ones too), and the bytes admitted. */
export type MailboxUsage = { mailboxId: string; requests: number; uploadBytes: number };

export type ThrottleDecision =
  | { ok: true; release: () => void }
  | { ok: false; reason: "concurrency" | "requests" | "upload"; retryAfterSeconds: number; message: string };

/** Outlook's limits per app per mailbox: concurrent requests, requests per window, upload bytes per window. */
export function createThrottle(getLimits: () => Limits) {
  const buckets = new Map<string, Bucket>();

  function bucket(appId: string, mailboxId: string): Bucket {
    const key = `${appId}|${mailboxId}`;
    let found = buckets.get(key);
    if (!found) {
      found = {
        mailboxId,
        inFlight: 0,
        counted: { requests: 0, uploadBytes: 0 },
        requests: { startedAt: Date.now(), used: 0 },
        uploads: { startedAt: Date.now(), used: 0 },
      };
      buckets.set(key, found);
    }
    return found;
  }

  function roll(window: Window, lengthMs: number, now: number): void {
    if (now - window.startedAt >= lengthMs) {
      window.startedAt = now;
      window.used = 0;
    }
  }

  function secondsLeft(window: Window, lengthMs: number, now: number): number {
    return Math.max(1, Math.ceil((window.startedAt + lengthMs - now) / 1000));
  }

  function acquire(appId: string, mailboxId: string, uploadBytes: number): ThrottleDecision {
    const decision = decide(appId, mailboxId, uploadBytes);
    // Graph goes on logging usage while it throttles: "all requests accrue against your usage limits".
    if (!decision.ok) countRequest(bucket(appId, mailboxId));
    return decision;
  }

  function countRequest(b: Bucket): void {
    b.requests.used += 1;
    b.counted.requests += 1;
  }

  function decide(appId: string, mailboxId: string, uploadBytes: number): ThrottleDecision {
    const limits = getLimits();
    const now = Date.now();
    const b = bucket(appId, mailboxId);
    roll(b.requests, limits.requestWindowMs, now);
    roll(b.uploads, limits.uploadWindowMs, now);
    if (b.inFlight >= limits.concurrentRequests) {
      return {
        ok: false,
        reason: "concurrency",
        retryAfterSeconds: 1,
        message: "Application is over its MailboxConcurrency limit.",
      };
    }
    if (b.requests.used >= limits.requestsPerWindow) {
      return {
        ok: false,
        reason: "requests",
        retryAfterSeconds: secondsLeft(b.requests, limits.requestWindowMs, now),
        message:
          "Application is over its IncomingBytes/RequestCount limit for this mailbox (ApplicationMailboxRequests).",
      };
    }
    if (uploadBytes > 0 && b.uploads.used + uploadBytes > limits.uploadBytesPerWindow) {
      return {
        ok: false,
        reason: "upload",
        retryAfterSeconds: secondsLeft(b.uploads, limits.uploadWindowMs, now),
        message: "Application is over its MailboxUpload limit (upload bytes per window).",
      };
    }
    b.inFlight += 1;
    countRequest(b);
    b.uploads.used += uploadBytes;
    b.counted.uploadBytes += uploadBytes;
    let released = false;
    return {
      ok: true,
      release: () => {
        if (!released) b.inFlight -= 1;
        released = true;
      },
    };
  }

  /** Every mailbox's usage, each app's added together. */
  function usage(): MailboxUsage[] {
    const byMailbox = new Map<string, MailboxUsage>();
    for (const b of buckets.values()) {
      const found = byMailbox.get(b.mailboxId) ?? { mailboxId: b.mailboxId, requests: 0, uploadBytes: 0 };
      found.requests += b.counted.requests;
      found.uploadBytes += b.counted.uploadBytes;
      byMailbox.set(b.mailboxId, found);
    }
    return [...byMailbox.values()];
  }

  return { acquire, usage, reset: () => buckets.clear() };
}

export type Throttle = ReturnType<typeof createThrottle>;
