// The items one worker is importing: each holds its claim (renewed while it runs) and a slot of its
// mailbox until its attempt ends, so new items can be claimed as soon as others finish. An item in
// flight for long is parked: waiting for its mailbox's Graph budget or Retry-After, or uploading a
// large file. It keeps its slot of the mailbox but not of the worker, so a few busy mailboxes never
// fill the worker while the others wait.

type Item = { id: bigint; mailbox: string };

export class InFlight {
  /** When each item in flight started, by id. */
  private readonly items = new Map<bigint, number>();
  private readonly mailboxes = new Map<string, number>();
  private readonly running = new Set<Promise<void>>();
  private readonly failures: Error[] = [];
  private waiting: Array<() => void> = [];
  private readonly renewal: NodeJS.Timeout;

  constructor(renew: (ids: bigint[]) => Promise<void>, renewEveryMs: number) {
    this.renewal = setInterval(() => {
      if (this.items.size > 0) void renew([...this.items.keys()]).catch(() => {});
    }, renewEveryMs);
  }

  get size(): number {
    return this.items.size;
  }

  /** Items started less than `parkedAfterMs` ago. */
  active(parkedAfterMs: number, now = Date.now()): number {
    let active = 0;
    for (const startedAt of this.items.values()) if (now - startedAt < parkedAfterMs) active += 1;
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

  start(item: Item, work: () => Promise<void>): void {
    this.items.set(item.id, Date.now());
    this.mailboxes.set(item.mailbox, (this.mailboxes.get(item.mailbox) ?? 0) + 1);
    const run = work()
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
