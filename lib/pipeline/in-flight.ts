// The items one worker is importing: each holds its claim (renewed while it runs) and a slot of its
// mailbox until its attempt ends, so new items can be claimed as soon as others finish. An item in
// flight for long is parked: waiting for its mailbox's Graph budget or Retry-After, or uploading a
// large file. It keeps its slot of the mailbox but not of the worker, so a few busy mailboxes never
// fill the worker while the others wait.
//
// A claim that could not be renewed (PostgreSQL away) lapses, and another worker may then take the
// item while this attempt still runs: two attempts at once could both create the message. So an item
// whose claim has gone unrenewed for all but one renewal interval of its lifetime is stopped (its
// signal aborts with ClaimLostError), checked every second, before another worker can take it. Times
// are performance.now(): a wall clock set back or forward must not stop or keep an attempt.

type Item = { id: bigint; mailbox: string };

export class ClaimLostError extends Error {
  override name = "ClaimLostError";
}

type Flying = {
  startedAt: number;
  /** When its claim was last made or renewed: when that statement was sent (performance.now()). */
  claimedAt: number;
  stop: AbortController;
};

export type ClaimRenewal = {
  renew: (ids: bigint[]) => Promise<void>;
  /** How long a claim lasts from its last renewal. */
  claimMs: number;
  everyMs: number;
};

const STOP_CHECK_MS = 1000;

export class InFlight {
  private readonly items = new Map<bigint, Flying>();
  private readonly mailboxes = new Map<string, number>();
  private readonly running = new Set<Promise<void>>();
  private readonly failures: Error[] = [];
  private waiting: Array<() => void> = [];
  private readonly timers: NodeJS.Timeout[];
  /** When the renewal still unanswered was sent, if one is. */
  private renewingSince: number | undefined;

  constructor(private readonly claims: ClaimRenewal) {
    this.timers = [
      setInterval(() => void this.renew(), claims.everyMs),
      setInterval(() => this.stopLapsing(), Math.min(STOP_CHECK_MS, claims.everyMs)),
    ];
  }

  /** Stops the items whose claim has gone unrenewed for all but one renewal interval of its lifetime. */
  stopLapsing(now = performance.now()): void {
    for (const item of this.items.values()) {
      if (item.stop.signal.aborted || now < item.claimedAt + this.claims.claimMs - this.claims.everyMs) continue;
      const seconds = Math.round((now - item.claimedAt) / 1000);
      item.stop.abort(new ClaimLostError(`its claim could not be renewed for ${seconds} s (database unavailable)`));
    }
  }

  /**
   * Renews the claims of the items in flight. A renewal left unanswered for a whole interval (a
   * connection that hangs) does not hold back the next one.
   */
  async renew(now = performance.now()): Promise<void> {
    if (this.renewingSince !== undefined && now - this.renewingSince < this.claims.everyMs) return;
    const ids = [...this.items.entries()].filter(([, item]) => !item.stop.signal.aborted).map(([id]) => id);
    if (ids.length === 0) return;
    this.renewingSince = now;
    try {
      await this.claims.renew(ids);
      for (const id of ids) {
        const item = this.items.get(id);
        if (item) item.claimedAt = Math.max(item.claimedAt, now);
      }
    } catch {
      // PostgreSQL away: the claims lapse unless a later renewal reaches it in time.
    } finally {
      if (this.renewingSince === now) this.renewingSince = undefined;
    }
  }

  get size(): number {
    return this.items.size;
  }

  /** Items started less than `parkedAfterMs` ago. */
  active(parkedAfterMs: number, now = performance.now()): number {
    let active = 0;
    for (const { startedAt } of this.items.values()) if (now - startedAt < parkedAfterMs) active += 1;
    return active;
  }

  /** Items in flight per mailbox. */
  get held(): ReadonlyMap<string, number> {
    return this.mailboxes;
  }

  /** The errors items' work threw (an item's own failure is an outcome, not an error). */
  get errors(): readonly Error[] {
    return this.failures;
  }

  /**
   * Starts `work` on an item claimed by a statement sent at `claimedAt` (performance.now());
   * `claimLost` aborts if its claim is about to lapse unrenewed.
   */
  start(item: Item, claimedAt: number, work: (claimLost: AbortSignal) => Promise<void>): void {
    const flying: Flying = { startedAt: performance.now(), claimedAt, stop: new AbortController() };
    this.items.set(item.id, flying);
    this.mailboxes.set(item.mailbox, (this.mailboxes.get(item.mailbox) ?? 0) + 1);
    const run = work(flying.stop.signal)
      .catch((error: unknown) => void this.failures.push(error instanceof Error ? error : new Error(String(error))))
      .finally(() => {
        this.items.delete(item.id);
        const left = (this.mailboxes.get(item.mailbox) ?? 1) - 1;
        if (left === 0) this.mailboxes.delete(item.mailbox);
        else this.mailboxes.set(item.mailbox, left);
        this.running.delete(run);
        const waiting = this.waiting;
        this.waiting = [];
        waiting.forEach((wake) => wake());
      });
    this.running.add(run);
  }

  /** Resolves when the next item in flight ends, or after `timeoutMs` (retries fall due meanwhile). */
  next(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.waiting.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Waits for every item in flight, then stops renewing claims. */
  async close(): Promise<void> {
    await Promise.all(this.running);
    this.timers.forEach(clearInterval);
  }
}
