// One mailbox receiving every item at Outlook's per-mailbox ceiling, scaled down (same rule, a short
// window) so the run takes ~30 s: how much of the ceiling the pipeline uses, and how often Graph says 429.
import { benchPipeline, type PipelineCase, type PipelineFigures } from "./pipeline";
import type { SandboxHost } from "./sandboxes";

export type HotMailboxFigures = PipelineFigures & {
  budgetPerSecond: number;
  /** Graph requests per second after the first window (whose whole budget is free at once). */
  steadyPerSecond: number;
  wholePhasePerSecond: number;
};

export async function benchHotMailbox(
  host: SandboxHost,
  base: Pick<PipelineCase, "caDir" | "storageConnectionString" | "log" | "runOptions">,
  { requests, windowMs, seconds }: { requests: number; windowMs: number; seconds: number },
): Promise<HotMailboxFigures> {
  const budgetPerSecond = (requests * 1000) / windowMs;
  // One request per item after the mailbox's first lookups; the first window's budget comes on top.
  const messages = Math.round(budgetPerSecond * seconds + requests);
  const figures = await benchPipeline(host, {
    ...base,
    // Two people, one of whom has a mailbox: every PENDING item goes to that one mailbox.
    sandbox: {
      seed: "bench-hot-mailbox",
      users: 2,
      externalUsers: 0,
      messages,
      mailboxes: 1,
      limits: { requestsPerWindow: requests, requestWindowMs: windowMs },
    },
    graphScheduler: { budget: { requests, windowMs } },
  });
  const afterFirstWindow = figures.timeline.find((sample) => sample.at >= windowMs);
  const steadyPerSecond = afterFirstWindow
    ? ((figures.graphRequests - afterFirstWindow.requests) * 1000) / (figures.importMs - afterFirstWindow.at)
    : NaN;
  return {
    ...figures,
    budgetPerSecond,
    steadyPerSecond,
    wholePhasePerSecond: (figures.graphRequests * 1000) / figures.importMs,
  };
}
