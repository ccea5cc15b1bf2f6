import { recordOutcomes, type ItemOutcome } from "./ledger";

export type OutcomeWriter = {
  /** Resolves once the outcome is committed (together with those recorded about the same time). */
  record(outcome: ItemOutcome): Promise<void>;
};

/**
 * Groups item outcomes into one ledger statement each: a group is written when it holds `maxItems`
 * or `maxDelayMs` after its first outcome, whichever comes first.
 */
export function createOutcomeWriter({ maxItems, maxDelayMs }: { maxItems: number; maxDelayMs: number }): OutcomeWriter {
  let group: Array<{ outcome: ItemOutcome; resolve: () => void; reject: (error: unknown) => void }> = [];
  let timer: NodeJS.Timeout | undefined;

  const write = () => {
    clearTimeout(timer);
    timer = undefined;
    const written = group;
    group = [];
    recordOutcomes(written.map((entry) => entry.outcome)).then(
      () => written.forEach((entry) => entry.resolve()),
      (error: unknown) => written.forEach((entry) => entry.reject(error)),
    );
  };

  return {
    record: (outcome) =>
      new Promise<void>((resolve, reject) => {
        group.push({ outcome, resolve, reject });
        if (group.length >= maxItems) write();
        else timer ??= setTimeout(write, maxDelayMs);
      }),
  };
}
