// The items one worker is importing: each holds its claim (renewed while it runs) and a slot of its
// mailbox until its attempt ends, so new items can be claimed as soon as others finish. An item in
// flight for long is parked: waiting for its mailbox's Graph budget or Retry-After, or uploading a
// large file. It keeps its slot of the mailbox but not of the worker, so a few busy mailboxes never
// fill the worker while the others wait.
//
// A claim that could not be renewed (PostgreSQL away) lapses, and another worker may then take the
// item while this attempt still runs: two attempts at once could both create the message. So an item
// whose claim was last renewed so long ago that it is about to lapse is stopped (its signal aborts
// with ClaimLostError) before another worker can take it.

type Item = { id: bigint; mailbox: string };

export class ClaimLostError extends Error {
  override name = "ClaimLostError";
}

type Flying = {
  startedAt: number;
  /** When its claim was last made or renewed (by this worker's clock). */
  claimedAt: number;
  stop: AbortController;
};

export type ClaimRenewal = {
  renew: (ids: bigint[]) => Promise<void>;
  /** How long a claim lasts from its last renewal. */
  claimMs: number;
  everyMs: number;
};

export class InFlight {
  private readonly items = new Map<bigint, Flying>();
  private readonly mailboxes = new Map<string, number>();
  private readonly running = new Set<Promise<void>>();
  private readonly failures: Error[] = [];
  private waiting: Array<() => void> = [];
  private readonly renewal: NodeJS.Timeout;
  private renewing = false;

  constructor(private readonly claims: ClaimRenewal) {
    this.renewal = setInterval(() => void this.renew(), claims.everyMs);
  }

  /**
   * Stops the items whose claim may lapse before the next renewal could save it (one interval early,
   * so that the stop lands before another worker's claim can), then renews the others' claims. A
   * renewal that hangs (PostgreSQL unreachable) does not hold back the next tick's stops.
   */
  async renew(now = Date.now()): Promise<void> {
    for (const item of this.items.values()) {
      if (item.claimedAt + this.claims.claimMs > now + this.claims.everyMs || item.stop.signal.aborted) continue;
      const seconds = Math.round((now - item.claimedAt) / 1000);
      item.stop.abort(new ClaimLostError(`its claim could not be renewed for ${seconds} s (database unavailable)`));
    }
    if (this.renewing || this.items.size === 0) return;
    const ids = [...this.items.entries()].filter(([, item]) => !item.stop.signal.aborted).map(([id]) => id);
    this.renewing = true;
    try {
      await this.claims.renew(ids);
      for (const id of ids) {
        const item = this.items.get(id);
        if (item) item.claimedAt = Math.max(item.claimedAt, now);
      }
    } catch {
      // PostgreSQL away: the claims lapse unless a later renewal reaches it in time.
    } finally {
      this.renewing = false;
    }
  }

  get size(): number {
    return this.items.size;
  }

  /** Items started less than `parkedAfterMs` ago. */
  active(parkedAfterMs: number, now = Date.now()): number {
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

  /** Starts `work` on a claimed item; `claimLost` aborts if its claim is about to lapse unrenewed. */
  start(item: Item, work: (claimLost: AbortSignal) => Promise<void>): void {
    const now = Date.now();
    const flying: Flying = { startedAt: now, claimedAt: now, stop: new AbortController() };
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
    clearInterval(this.renewal);
  }
}
