import { setTimeout as sleep } from "node:timers/promises";
import { createSemaphore, type Semaphore } from "@/lib/async";
import { GraphRetriesExhaustedError, M365AuthError } from "./errors";

/** Graph's 507 Insufficient Storage: "The maximum storage quota has been reached" (its errors page). */
const INSUFFICIENT_STORAGE = 507;

/**
 * Answers sent again: a 429, and server errors but a full mailbox (507), which no retry cures and the
 * caller fails as such.
 */
export function isRetried(status: number): boolean {
  return status === 429 || (status >= 500 && status !== INSUFFICIENT_STORAGE);
}

/** What the scheduler needs to see of an HTTP answer to decide whether to retry it. */
export type HttpOutcome = { status: number; headers: Headers };

export type SchedulerOptions = {
  /** Requests in flight at once per mailbox (Outlook allows 4 per app per mailbox). */
  perMailboxConcurrency: number;
  /** Requests per mailbox per window (Outlook: 10,000 per 10 minutes), every attempt counted: Graph counts refused ones too. */
  budget: { requests: number; windowMs: number };
  /**
   * Request-body bytes per mailbox per window (Outlook: 150 MB of POST, PUT and PATCH per 5 minutes
   * per app per mailbox). Creates and chunk PUTs wait for room here instead of meeting 429s that would
   * stall the mailbox.
   */
  uploadBudget: { bytes: number; windowMs: number };
  /** Requests in flight at once over all mailboxes. */
  globalConcurrency: number;
  /** Attempts per request before it fails with GraphRetriesExhaustedError. */
  maxAttempts: number;
  /** Exponential backoff for 5xx and network errors: baseMs * 2^(attempt-1), capped, half of it jittered. */
  backoff: { baseMs: number; maxMs: number };
  /** Longest Retry-After honoured as given; longer ones are cut to this. */
  maxRetryAfterMs: number;
};

export const defaultSchedulerOptions: SchedulerOptions = {
  perMailboxConcurrency: 4,
  budget: { requests: 10_000, windowMs: 10 * 60_000 },
  // 150 MB in decimal megabytes: a little under what Outlook allows whichever MB it means.
  uploadBudget: { bytes: 150_000_000, windowMs: 5 * 60_000 },
  globalConcurrency: 64,
  maxAttempts: 8,
  backoff: { baseMs: 500, maxMs: 30_000 },
  maxRetryAfterMs: 5 * 60_000,
};

export type ScheduleOptions<T> = {
  /** Graph requests this HTTP request carries (a $batch carries its sub-requests); asked before each attempt. */
  requestCount?: () => number;
  /**
   * Bytes this request uploads (the body of a POST, PUT or PATCH: a create, a chunk PUT to an upload
   * session), paced by the mailbox's upload budget.
   */
  uploadBytes?: number;
  /**
   * For a request that may have taken effect although its answer was lost or a 5xx (a create):
   * called before each retry; a result returned here is used instead of sending again.
   */
  beforeRetry?: () => Promise<T | undefined>;
  /** Told the number of Graph requests of every attempt sent (per-item request counts). */
  onSent?: (requestCount: number) => void;
  /**
   * Once aborted, nothing more is sent for this call (a request already on the wire is not recalled):
   * an abandoned import attempt must not create a message after its retry looked for it.
   */
  signal?: AbortSignal;
};

export type SchedulerCounters = {
  /** Graph requests sent, sub-requests of a $batch counted one by one. */
  requests: number;
  /** Sends: HTTP requests, except that creates sharing a $batch (batching.ts) count one each. */
  httpRequests: number;
  /** Answers 429 (a $batch whose sub-requests were throttled counts once per attempt). */
  throttled: number;
  serverErrors: number;
  networkErrors: number;
  retries: number;
  /** Requests that failed after maxAttempts. */
  exhausted: number;
  /** Highest number of Graph requests seen in flight for one mailbox. */
  peakInFlightPerMailbox: number;
};

export type Scheduler = {
  /** Sends through `send` under `mailbox`'s limits, retrying 429/5xx/network errors; returns the final answer. */
  schedule<T extends HttpOutcome>(mailbox: string, send: () => Promise<T>, options?: ScheduleOptions<T>): Promise<T>;
  counters(): SchedulerCounters;
  /**
   * Whether `mailbox` was held back at or after `since` (ms): answered 429, or a request of it waited
   * for the mailbox's request or byte budget. An attempt that ran out of time then waited on throttling.
   */
  throttledSince(mailbox: string, since: number): boolean;
};

type Mailbox = { slots: Semaphore; budget: WindowCounter; uploads: WindowCounter; pausedUntil: number };

/**
 * Per-mailbox throttling for Graph: at most N requests in flight per mailbox, a request budget per
 * window, Retry-After pausing only the mailbox that got it, and a global cap over all mailboxes.
 */
export function createScheduler(overrides: Partial<SchedulerOptions> = {}): Scheduler {
  const options = { ...defaultSchedulerOptions, ...overrides };
  const mailboxes = new Map<string, Mailbox>();
  // When each mailbox was last held back (kept apart from its state, which an idle mailbox drops).
  const heldBack = new Map<string, number>();
  const noteHeldBack = (key: string) => {
    heldBack.delete(key); // re-inserted last: the map stays in time order, oldest first
    heldBack.set(key, Date.now());
    for (const [oldest, at] of heldBack) {
      if (heldBack.size <= 10_000 && at > Date.now() - 3_600_000) break;
      heldBack.delete(oldest);
    }
  };
  const global = createSemaphore(options.globalConcurrency);
  const counters: SchedulerCounters = {
    requests: 0,
    httpRequests: 0,
    throttled: 0,
    serverErrors: 0,
    networkErrors: 0,
    retries: 0,
    exhausted: 0,
    peakInFlightPerMailbox: 0,
  };

  function mailboxState(key: string): Mailbox {
    let state = mailboxes.get(key);
    if (!state) {
      state = {
        slots: createSemaphore(options.perMailboxConcurrency),
        budget: createWindowCounter(options.budget.requests, options.budget.windowMs),
        uploads: createWindowCounter(options.uploadBudget.bytes, options.uploadBudget.windowMs),
        pausedUntil: 0,
      };
      mailboxes.set(key, state);
    }
    return state;
  }

  async function sendOnce<T>(
    key: string,
    send: () => Promise<T>,
    requestCount: number,
    onSent?: (n: number) => void,
    signal?: AbortSignal,
    uploadBytes = 0,
  ) {
    const slots = Math.min(requestCount, options.perMailboxConcurrency);
    const cost = Math.min(requestCount, options.budget.requests);
    const bytes = Math.min(uploadBytes, options.uploadBudget.bytes);
    // An upload waiting for byte budget does not hold one of the mailbox's slots meanwhile.
    for (;;) {
      const wait = bytes > 0 ? mailboxState(key).uploads.waitMs(Date.now(), bytes) : 0;
      if (wait <= 0) break;
      signal?.throwIfAborted();
      noteHeldBack(key);
      await sleep(wait);
    }
    // Looked up after the wait: an idle mailbox's state may have been dropped meanwhile.
    const state = mailboxState(key);
    await state.slots.acquire(slots);
    try {
      for (;;) {
        const now = Date.now();
        const wait = Math.max(
          state.pausedUntil - now,
          state.budget.waitMs(now, cost),
          bytes > 0 ? state.uploads.waitMs(now, bytes) : 0,
        );
        if (wait <= 0) break;
        noteHeldBack(key);
        await sleep(wait);
      }
      state.budget.add(Date.now(), cost);
      if (bytes > 0) state.uploads.add(Date.now(), bytes);
      counters.peakInFlightPerMailbox = Math.max(counters.peakInFlightPerMailbox, state.slots.used());
      await global.acquire(Math.min(slots, options.globalConcurrency));
      try {
        signal?.throwIfAborted();
        counters.httpRequests += 1;
        counters.requests += requestCount;
        onSent?.(requestCount);
        return await send();
      } finally {
        global.release(Math.min(slots, options.globalConcurrency));
      }
    } finally {
      state.slots.release(slots);
      if (
        state.slots.idle() &&
        state.budget.empty(Date.now()) &&
        state.uploads.empty(Date.now()) &&
        state.pausedUntil <= Date.now()
      )
        mailboxes.delete(key);
    }
  }

  function pause(key: string, ms: number) {
    const state = mailboxState(key);
    state.pausedUntil = Math.max(state.pausedUntil, Date.now() + ms);
  }

  function backoffMs(attempt: number): number {
    const ceiling = Math.min(options.backoff.maxMs, options.backoff.baseMs * 2 ** (attempt - 1));
    return ceiling / 2 + Math.random() * (ceiling / 2);
  }

  return {
    async schedule(key, send, { requestCount, uploadBytes, beforeRetry, onSent, signal } = {}) {
      for (let attempt = 1; ; attempt++) {
        signal?.throwIfAborted();
        let delay: number;
        let ambiguous: boolean;
        let last: number | "network-error";
        try {
          const outcome = await sendOnce(key, send, Math.max(1, requestCount?.() ?? 1), onSent, signal, uploadBytes);
          const retryAfter = retryAfterMs(outcome.headers, options.maxRetryAfterMs);
          last = outcome.status;
          if (outcome.status === 429) {
            counters.throttled += 1;
            noteHeldBack(key);
            delay = retryAfter ?? backoffMs(attempt);
            pause(key, delay);
            ambiguous = false;
          } else if (isRetried(outcome.status)) {
            counters.serverErrors += 1;
            if (retryAfter !== undefined && (outcome.status === 503 || outcome.status === 504)) {
              delay = retryAfter;
              pause(key, delay);
            } else {
              delay = backoffMs(attempt);
            }
            ambiguous = true;
          } else {
            return outcome;
          }
        } catch (error) {
          if (signal?.aborted) throw signal.reason;
          if (error instanceof M365AuthError && error.reason !== "unreachable") throw error;
          counters.networkErrors += 1;
          last = "network-error";
          delay = backoffMs(attempt);
          ambiguous = true;
        }
        if (attempt >= options.maxAttempts) {
          counters.exhausted += 1;
          throw new GraphRetriesExhaustedError(key, attempt, last);
        }
        counters.retries += 1;
        await sleep(delay);
        if (ambiguous && beforeRetry) {
          const recovered = await beforeRetry();
          if (recovered !== undefined) return recovered;
        }
      }
    },
    counters: () => ({ ...counters }),
    throttledSince: (mailbox, since) => (heldBack.get(mailbox) ?? -Infinity) >= since,
  };
}

/** Retry-After in ms, from seconds or an HTTP date; undefined when absent or unreadable. */
function retryAfterMs(headers: Headers, max: number): number | undefined {
  const value = headers.get("retry-after");
  if (value === null || value.trim() === "") return undefined;
  const seconds = Number(value);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(value) - Date.now();
  return Number.isFinite(ms) ? Math.min(Math.max(ms, 0), max) : undefined;
}

type WindowCounter = {
  waitMs(now: number, cost: number): number;
  add(now: number, cost: number): void;
  empty(now: number): boolean;
};

/**
 * Requests (or bytes) counted in 60 time buckets. A bucket is forgotten only once all of it is older than the
 * window, so no window of that length, however aligned, ever holds more than `limit` requests.
 */
function createWindowCounter(limit: number, windowMs: number, bucketCount = 60): WindowCounter {
  const bucketMs = windowMs / bucketCount;
  const buckets: Array<{ index: number; count: number }> = [];
  let total = 0;
  const prune = (now: number) => {
    while (buckets[0] && (buckets[0].index + 1) * bucketMs <= now - windowMs) total -= buckets.shift()!.count;
  };
  return {
    waitMs(now, cost) {
      prune(now);
      let excess = total + cost - limit;
      for (const bucket of buckets) {
        if (excess <= 0) break;
        excess -= bucket.count;
        if (excess <= 0) return (bucket.index + 1) * bucketMs + windowMs - now;
      }
      return 0;
    },
    add(now, cost) {
      const index = Math.floor(now / bucketMs);
      const last = buckets.at(-1);
      if (last?.index === index) last.count += cost;
      else buckets.push({ index, count: cost });
      total += cost;
    },
    empty(now) {
      prune(now);
      return total === 0;
    },
  };
}
