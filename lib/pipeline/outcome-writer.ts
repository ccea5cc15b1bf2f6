import { groupWithin } from "@/lib/async";
import { recordOutcomes, type ItemOutcome } from "./ledger";

export type OutcomeWriter = {
  /** Resolves once the outcome is committed (together with those recorded about the same time). */
  record(outcome: ItemOutcome): Promise<void>;
};

type Pending = { outcome: ItemOutcome; resolve: () => void; reject: (error: unknown) => void };

/**
 * Groups the outcomes of `workerId`'s attempts into one ledger statement each: a group is written when
 * it holds `maxItems` or `maxDelayMs` after its first outcome, whichever comes first.
 */
export function createOutcomeWriter(workerId: string, limits: { maxItems: number; maxDelayMs: number }): OutcomeWriter {
  const groups = groupWithin<Pending>(limits, (written) => {
    recordOutcomes(
      workerId,
      written.map((entry) => entry.outcome),
    ).then(
      () => written.forEach((entry) => entry.resolve()),
      (error: unknown) => written.forEach((entry) => entry.reject(error)),
    );
  });
  return { record: (outcome) => new Promise<void>((resolve, reject) => groups.add({ outcome, resolve, reject })) };
}
