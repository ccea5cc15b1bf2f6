// The coverage list of a run of the "Conversations of the service account" source: which streams it
// read, which Symphony refused and why, and how many it skipped (nothing new, or a type it does not
// archive). Kept on the run (ImportRun.coverage) for the flyout and the status log.
import { z } from "zod";
import { db } from "@/lib/db";
import type { Prisma } from "@/lib/generated/prisma/client";

/** Why most listed streams cannot be read: the coverage list's words. */
export const NOT_A_MEMBER = "the service account is not a member of this conversation";

/** Refused streams kept by name per run; the count covers them all. */
export const REFUSED_LISTED = 500;

const streamRef = { id: z.string(), type: z.string(), name: z.string().nullable() };

export const streamCoverageSchema = z.object({
  /** Streams of the chosen types the admin stream list gave. */
  listed: z.number().int().nonnegative(),
  /** Streams of a type the connector does not know (skipped). */
  otherTypes: z.number().int().nonnegative(),
  /** Streams with no message newer than their checkpoint or the start date (not read again). */
  unchanged: z.number().int().nonnegative(),
  /** Streams read, with the messages newer than their checkpoint read from each in this run. */
  read: z.array(z.object({ ...streamRef, messages: z.number().int().nonnegative() })),
  /** Streams Symphony would not let the service account read, with the reason. */
  refused: z.array(z.object({ ...streamRef, reason: z.string() })),
  refusedTotal: z.number().int().nonnegative(),
});
export type StreamCoverage = z.infer<typeof streamCoverageSchema>;

/** The coverage stored on a run, or null when it has none (a Content Export run, an older run). */
export function parseCoverage(json: unknown): StreamCoverage | null {
  const parsed = streamCoverageSchema.safeParse(json);
  return parsed.success ? parsed.data : null;
}

export type CoveredStream = { id: string; type: string; name: string | null };

/** What the conversations source tells about each stream it lists. */
export interface CoverageSink {
  listed(count: number): void;
  otherType(stream: CoveredStream): void;
  read(stream: CoveredStream, messages: number): void;
  refused(stream: CoveredStream, reason: string): void;
  /** Writes what is known (called at most every few seconds while the run goes on, and at its end). */
  flush(): Promise<void>;
}

const FLUSH_EVERY_MS = 2_000;

/**
 * Records a run's coverage on the run. A run resumed after a crash keeps the streams its earlier attempt
 * read (they now have nothing new); refusals are found again by every attempt, so they start afresh.
 */
export async function runCoverage(runId: string): Promise<CoverageSink> {
  const run = await db.importRun.findUniqueOrThrow({ where: { id: runId }, select: { coverage: true } });
  const earlier = parseCoverage(run.coverage);
  const read = new Map((earlier?.read ?? []).map((stream) => [stream.id, { ...stream }]));
  const refused = new Map<string, StreamCoverage["refused"][number]>();
  let listed = 0;
  let otherTypes = 0;
  let lastFlush = 0;
  let writing: Promise<void> = Promise.resolve();

  function snapshot(): StreamCoverage {
    const readStreams = [...read.values()].filter((stream) => !refused.has(stream.id));
    return {
      listed,
      otherTypes,
      unchanged: Math.max(0, listed - otherTypes - readStreams.length - refused.size),
      read: readStreams,
      // The unexpected refusals (404, 400) first: "not a member" is this source's everyday case.
      refused: [...refused.values()]
        .sort((a, b) => Number(a.reason.startsWith(NOT_A_MEMBER)) - Number(b.reason.startsWith(NOT_A_MEMBER)))
        .slice(0, REFUSED_LISTED),
      refusedTotal: refused.size,
    };
  }

  function flush(): Promise<void> {
    lastFlush = Date.now();
    const coverage = snapshot() as Prisma.InputJsonValue;
    writing = writing
      .catch(() => undefined) // an earlier write that failed is superseded by this one
      .then(async () => {
        await db.importRun.update({ where: { id: runId }, data: { coverage } });
      });
    return writing;
  }

  function changed() {
    if (Date.now() - lastFlush >= FLUSH_EVERY_MS) void flush().catch(() => undefined); // the final flush reports
  }

  return {
    listed(count) {
      listed += count;
    },
    otherType() {
      otherTypes += 1;
    },
    read(stream, messages) {
      const known = read.get(stream.id);
      read.set(stream.id, { ...stream, messages: (known?.messages ?? 0) + messages });
      changed();
    },
    refused(stream, reason) {
      refused.set(stream.id, { ...stream, reason });
      changed();
    },
    flush,
  };
}
