// Every database write of a run: the per-page collect transaction, claims, outcomes and counts.
// Times are the database's clock in UTC (columns are TIMESTAMP(3) holding UTC, as Prisma writes them),
// so workers on machines with skewed clocks agree on claim expiry.
import { createHash } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { db } from "@/lib/db";
import { Prisma } from "@/lib/generated/prisma/client";
import type { Recipient } from "./recipients";
import type { Checkpoint } from "./source";
import { wellFormed, wellFormedJson } from "./well-formed";

const NOW = Prisma.sql`(now() AT TIME ZONE 'UTC')`;

export type CollectedMessage = {
  messageId: string;
  streamId: string;
  streamType: string;
  sentAt: Date;
  senderUserId: string;
  senderEmail: string | null;
  senderName: string | null;
  participants: string[];
  /** The names of the files the message was imported with. */
  attachmentNames: string[];
  /** On an export's file-transfer record: the captured message its file was imported with. */
  attachedTo: string | null;
  /** What its items say once imported or failed, whatever their attempts said (see recordOutcomes). */
  note: string | null;
  /** The staged MIME: a bundle (from blobOffset, sizeBytes long, then modelBytes of Graph model) or a blob of its own (blobOffset null). */
  blobName: string;
  blobOffset: number | null;
  sizeBytes: number;
  modelBytes: number | null;
  recipients: Recipient[];
};

export type CollectedPage = {
  connectorId: string;
  runId: string;
  /** The new messages, staged. */
  messages: CollectedMessage[];
  /** Every message key of the batch, new or already recorded (an export file is linked to all of them). */
  keys: string[];
  /** A stream's checkpoint moves to the page's newest message (never backwards); a file links its messages. */
  checkpoint: Checkpoint;
};

/** Message ids of the list already recorded for the connector (re-read at the checkpoint's millisecond). */
export async function recordedMessageIds(connectorId: string, messageIds: string[]): Promise<Set<string>> {
  const rows = await db.sourceMessage.findMany({
    where: { connectorId, messageId: { in: messageIds } },
    select: { messageId: true },
  });
  return new Set(rows.map((row) => row.messageId));
}

/**
 * PostgreSQL text cannot hold NUL, which Symphony names and addresses may contain: one such name
 * would fail the transaction of its whole page, again on every retry. It is stored visibly, as \u0000.
 */
export function storable(text: string): string {
  return text.includes("\u0000") ? text.replaceAll("\u0000", "\\u0000") : text;
}

/**
 * UTF-8 bytes of a key kept as it is: a btree index entry holds at most 2,704 (less for random text,
 * which does not compress), and keys stored before this rule, nearly all far shorter, keep matching.
 */
const MAX_KEY_BYTES = 2000;

/**
 * A message key, stream id or mailbox as the ledger keeps and looks it up: NUL as \u0000, a lone
 * surrogate as U+FFFD (what PostgreSQL would make of it), and one over MAX_KEY_BYTES as its first
 * 200 characters and its SHA-256: such a key in the unique index would fail its whole page, on every
 * retry. The same text always gives the same key, so a message read again is found again.
 */
export function storableKey(text: string): string {
  const kept = storable(wellFormed(text));
  if (kept.length * 3 <= MAX_KEY_BYTES || Buffer.byteLength(kept) <= MAX_KEY_BYTES) return kept;
  const start = kept.slice(0, 200).replace(/[\ud800-\udbff]$/, "");
  return `${start}… (sha256 ${createHash("sha256").update(kept).digest("hex")})`;
}

/**
 * Rows as JSON for jsonb_to_recordset. jsonb refuses a lone surrogate (a text parameter would have
 * carried it as U+FFFD), and one such name from Symphony would fail its page on every retry.
 */
function jsonRows(rows: object[]): string {
  return wellFormedJson(rows);
}

/**
 * One page in one transaction: the messages (a message already recorded is left alone, and so are its
 * items), one ledger row per recipient, the run's collected count and the unit's checkpoint.
 * Returns how many messages were new.
 */
export async function recordPage(page: CollectedPage): Promise<number> {
  const exportFileId = page.checkpoint.kind === "export-file" ? page.checkpoint.exportFileId : null;
  return db.$transaction(async (tx) => {
    // Rows go in as one JSON parameter per table: Prisma's createMany builds a query plan holding every
    // value of every row (hundreds of MB of heap for a large page) where PostgreSQL reads them itself.
    const messages = page.messages.map(({ recipients: _, sentAt, ...message }) => ({
      ...message,
      sentAt: sentAt.toISOString(),
    }));
    const inserted = await tx.$queryRaw<Array<{ id: bigint; messageId: string }>>`
      INSERT INTO "SourceMessage" ("connectorId", "runId", "exportFileId", "messageId", "streamId", "streamType",
        "sentAt", "senderUserId", "senderEmail", "senderName", "participants", "attachmentNames", "attachedTo",
        "note", "blobName", "blobOffset", "sizeBytes", "modelBytes", "createdAt")
      SELECT ${page.connectorId}::uuid, ${page.runId}::uuid, ${exportFileId}::bigint, r."messageId", r."streamId",
        r."streamType", (r."sentAt" AT TIME ZONE 'UTC'), r."senderUserId", r."senderEmail", r."senderName",
        r."participants", r."attachmentNames", r."attachedTo", r."note", r."blobName", r."blobOffset",
        r."sizeBytes", r."modelBytes", ${NOW}
      FROM jsonb_to_recordset(${jsonRows(messages)}::jsonb) AS r("messageId" text, "streamId" text,
        "streamType" text, "sentAt" timestamptz, "senderUserId" text, "senderEmail" text, "senderName" text,
        "participants" text[], "attachmentNames" text[], "attachedTo" text, "note" text, "blobName" text,
        "blobOffset" bigint, "sizeBytes" bigint, "modelBytes" integer)
      ON CONFLICT ("connectorId", "messageId") DO NOTHING
      RETURNING id, "messageId"`;
    const byMessageId = new Map(page.messages.map((message) => [message.messageId, message]));
    const items = inserted.flatMap(({ id, messageId }) =>
      byMessageId.get(messageId)!.recipients.map((recipient) => ({ ...recipient, sourceMessageId: String(id) })),
    );
    if (items.length > 0) {
      await tx.$executeRaw`
        INSERT INTO "ImportItem" ("connectorId", "sourceMessageId", "runId", "mailbox", "status", "reason",
          "createdAt", "updatedAt")
        SELECT ${page.connectorId}::uuid, r."sourceMessageId", ${page.runId}::uuid, r."mailbox",
          r."status"::"ItemStatus", r."reason", ${NOW}, ${NOW}
        FROM jsonb_to_recordset(${jsonRows(items)}::jsonb)
          AS r("sourceMessageId" bigint, "mailbox" text, "status" text, "reason" text)
        ON CONFLICT ("connectorId", "sourceMessageId", "mailbox") DO NOTHING`;
    }
    if (inserted.length > 0) {
      await tx.importRun.update({
        where: { id: page.runId },
        data: { messagesCollected: { increment: inserted.length } },
      });
    }
    const { checkpoint } = page;
    if (checkpoint.kind === "stream") {
      await tx.$executeRaw`
        INSERT INTO "StreamCheckpoint" ("connectorId", "streamId", "lastMessageAt", "lastMessageId", "updatedAt")
        VALUES (${page.connectorId}::uuid, ${storableKey(checkpoint.streamId)}, (${checkpoint.at.toISOString()}::timestamptz AT TIME ZONE 'UTC'), ${storableKey(checkpoint.messageId)}, ${NOW})
        ON CONFLICT ("connectorId", "streamId") DO UPDATE
          SET "lastMessageAt" = EXCLUDED."lastMessageAt", "lastMessageId" = EXCLUDED."lastMessageId", "updatedAt" = EXCLUDED."updatedAt"
          WHERE "StreamCheckpoint"."lastMessageAt" <= EXCLUDED."lastMessageAt"`;
    } else if (checkpoint.kind === "export-file") {
      await tx.$executeRaw`
        INSERT INTO "ExportFileMessage" ("exportFileId", "sourceMessageId")
        SELECT ${checkpoint.exportFileId}::bigint, id FROM "SourceMessage"
        WHERE "connectorId" = ${page.connectorId}::uuid AND "messageId" = ANY(${page.keys}::text[])
        ON CONFLICT DO NOTHING`;
    }
    return inserted.length;
  });
}

export type ClaimedItem = {
  id: bigint;
  mailbox: string;
  attempts: number;
  failures: number;
  messageId: string;
  blobName: string;
  blobOffset: bigint | null;
  sizeBytes: bigint;
  modelBytes: number | null;
};

/** How far past `limit` a claim looks for items of mailboxes that still have room. */
const CLAIM_SCAN_FACTOR = 8;

/**
 * Claims up to `limit` PENDING items of the connector that nobody holds (or whose holder's claim
 * expired, or whose retry delay has passed), oldest first so every mailbox moves, and at most
 * `perMailbox` per mailbox counting the `held` ones this worker still imports: items are stored a
 * conversation at a time, and without the cap a claim of a two-person chat's items would keep two
 * mailboxes busy while the rest waited. The oldest items of the `busiest` mailboxes come first,
 * wherever they were stored: each of those needs its own Graph budget (10,000 requests per 10 minutes
 * per mailbox) for longer than most of the run, so it must not wait for the claims to reach its items.
 * `attempts` is incremented here, before any Graph call, so a later attempt knows to look the message
 * up first.
 */
export async function claimItems(args: ClaimArgs): Promise<ClaimedItem[]> {
  return asClaim<ClaimedItem[]>(claimQuery(args));
}

/**
 * PostgreSQL's plan for a claim, as claims run (EXPLAIN, in JSON): for tests of its shape. In `tx`, a
 * transaction of the test's, when given.
 */
export async function claimPlan(args: ClaimArgs, tx?: Prisma.TransactionClient): Promise<unknown> {
  const explain = Prisma.sql`EXPLAIN (FORMAT JSON) ${claimQuery(args)}`;
  const [row] = await asClaim<Array<{ "QUERY PLAN": unknown }>>(explain, tx);
  return row?.["QUERY PLAN"];
}

/**
 * A claim as claims run, with how many of its row updates PostgreSQL wrote heap-only (HOT: no new
 * entry in any index, see migration 20261209100000_ledger_hot_claims): for tests.
 */
export async function claimCountingHot(args: ClaimArgs): Promise<{ claimed: number; hot: number }> {
  return db.$transaction(async (tx) => {
    // The backend's counts not yet reported, this transaction's and maybe earlier ones': the difference.
    const hotUpdates = async () => {
      const [row] = await tx.$queryRaw<Array<{ hot: number }>>`
        SELECT pg_stat_get_xact_tuples_hot_updated('"ImportItem"'::regclass)::int AS hot`;
      return row?.hot ?? 0;
    };
    const before = await hotUpdates();
    const claimed = await asClaim<ClaimedItem[]>(claimQuery(args), tx);
    return { claimed: claimed.length, hot: (await hotUpdates()) - before };
  });
}

/**
 * Runs a claim's SQL with sorting turned off: the pending items are walked oldest first through
 * ImportItem_pending_idx and ImportItem_pending_mailbox_idx, never sorted. While a run's first items
 * are recorded (or for a connector newer than the table's statistics), the statistics say there are
 * next to none, and with them the planner sorted every pending item of the connector for each claim:
 * 30-40 ms at 60,000 pending, most of PostgreSQL's CPU in a bench, where the walk takes 0.4 ms. The
 * sorts of the claim's few candidates remain (they have no other way). In `tx` when given (tests).
 */
async function asClaim<T>(query: Prisma.Sql, tx?: Prisma.TransactionClient): Promise<T> {
  if (tx) {
    await tx.$executeRaw`SET LOCAL enable_sort = off`;
    return tx.$queryRaw<T>(query);
  }
  const [, rows] = await db.$transaction([db.$executeRaw`SET LOCAL enable_sort = off`, db.$queryRaw<T>(query)]);
  return rows;
}

export type ClaimArgs = {
  connectorId: string;
  runId: string;
  workerId: string;
  limit: number;
  perMailbox: number;
  held?: ReadonlyMap<string, number>;
  claimSeconds: number;
  /** The items recorded last first (while collect goes on: see deliverPending). */
  newestFirst?: boolean;
  /** Mailboxes whose oldest items come before any other (see pendingMailboxes). */
  busiest?: readonly string[];
  /**
   * Every mailbox with a PENDING item, when there are few (see pendingMailboxes): the claim then
   * probes each one's oldest items (by id, as for `busiest`) instead of walking the backlog, which
   * late in a run is mostly the items of the mailboxes at their limit and passes every one of them
   * (112,000 rows, 23 ms a claim at the end of a 200,000-message run). A mailbox missing from the list
   * waits for the next count.
   */
  pendingMailboxes?: readonly string[];
  /** Where an oldest-first walk starts: no item before it was PENDING when it was read (see oldestPending). */
  from?: PendingKey | null;
  /** Where the probe of a mailbox (`busiest`, `pendingMailboxes`) starts: its oldest PENDING item's id when read. */
  mailboxFrom?: ReadonlyMap<string, bigint>;
};

function claimQuery(args: ClaimArgs): Prisma.Sql {
  const held = [...(args.held ?? new Map<string, number>())];
  // Oldest first is ("createdAt", id): in id order alone the primary key has the walk's order too (see
  // migration 20261210100000_pending_oldest_first).
  const order = args.newestFirst ? Prisma.sql`"createdAt" DESC, id DESC` : Prisma.sql`"createdAt", id`;
  const full = held.filter(([, count]) => count >= args.perMailbox).map(([mailbox]) => mailbox);
  const busiest = (args.busiest ?? []).filter((mailbox) => !full.includes(mailbox));
  const free = Prisma.sql`("claimedUntil" IS NULL OR "claimedUntil" < ${NOW})`;
  const from =
    args.from && !args.newestFirst
      ? Prisma.sql`("createdAt", id) >= (${args.from.createdAt}::timestamp, ${args.from.id}::bigint)`
      : Prisma.sql`TRUE`;
  // The oldest free items of each of `mailboxes`, through ImportItem_pending_mailbox_idx.
  const startOf = (mailbox: string) => String(args.mailboxFrom?.get(mailbox) ?? 0n);
  const oldestOf = (mailboxes: readonly string[], tier: number) => Prisma.sql`
      SELECT first.id, first.mailbox, first."createdAt", ${tier}::int AS tier
      FROM unnest(${mailboxes}::text[], ${mailboxes.map(startOf)}::bigint[]) AS m(mailbox, start)
      CROSS JOIN LATERAL (
        SELECT id, mailbox, "createdAt" FROM "ImportItem"
        WHERE "connectorId" = ${args.connectorId}::uuid AND status = 'PENDING' AND mailbox = m.mailbox AND id >= m.start
          AND ${free}
        ORDER BY id
        LIMIT ${args.perMailbox}
      ) AS first`;
  const rest = args.pendingMailboxes
    ? oldestOf(
        args.pendingMailboxes.filter((mailbox) => !full.includes(mailbox) && !busiest.includes(mailbox)),
        1,
      )
    : Prisma.sql`
      (SELECT id, mailbox, "createdAt", 1 AS tier FROM "ImportItem"
      WHERE "connectorId" = ${args.connectorId}::uuid AND status = 'PENDING' AND ${free}
        AND mailbox <> ALL(${full}::text[]) AND ${from}
      ORDER BY ${order}
      LIMIT ${args.limit * CLAIM_SCAN_FACTOR})`;
  return Prisma.sql`
    WITH held AS (
      SELECT * FROM unnest(${held.map(([mailbox]) => mailbox)}::text[], ${held.map(([, count]) => count)}::int[])
        AS h(mailbox, count)
    ), candidates AS (
      ${oldestOf(busiest, 0)}
      UNION ALL
      ${rest}
    ), wanted AS (
      SELECT ranked.id FROM (
        SELECT id, mailbox, "createdAt", min(tier) AS tier,
          row_number() OVER (PARTITION BY mailbox ORDER BY min(tier), CASE WHEN min(tier) = 0 THEN id END, ${order}) AS rank
        FROM candidates GROUP BY id, mailbox, "createdAt"
      ) AS ranked LEFT JOIN held USING (mailbox)
      WHERE ranked.rank <= ${args.perMailbox} - COALESCE(held.count, 0)
      ORDER BY ranked.tier, CASE WHEN ranked.tier = 0 THEN ranked.id END, ${order}
      LIMIT ${args.limit}
    ), picked AS (
      SELECT id FROM "ImportItem"
      WHERE id IN (SELECT id FROM wanted) AND status = 'PENDING' AND ${free}
      FOR UPDATE SKIP LOCKED
    )
    UPDATE "ImportItem" AS item
    SET "claimedBy" = ${args.workerId},
        "claimedUntil" = ${NOW} + make_interval(secs => ${args.claimSeconds}),
        attempts = item.attempts + 1,
        "runId" = ${args.runId}::uuid,
        "updatedAt" = ${NOW}
    FROM picked, "SourceMessage" AS message
    WHERE item.id = picked.id AND message.id = item."sourceMessageId"
    RETURNING item.id, item.mailbox, item.attempts, item.failures, message."messageId", message."blobName", message."blobOffset",
      message."sizeBytes", message."modelBytes"`;
}

/** An item's place in the claim's order ("createdAt" as PostgreSQL writes it, so that it compares exactly). */
export type PendingKey = { createdAt: string; id: bigint };

/**
 * The connector's oldest PENDING item's place in the claim's order, and each of `mailboxes`' oldest
 * PENDING item's id. Items leave PENDING for good and new ones are recorded newer, so no item before
 * them becomes PENDING later (but for a page whose transaction began before the read and committed
 * after it: read them again every few seconds). Claims that start there skip the front of the
 * partial indexes, which keep the entries of items already imported until VACUUM removes them: 1,704
 * pages and 7.6 ms a claim 370,000 items into a 1,000,000-message run, and 181 pages for each of the
 * busiest mailboxes' probes 20,000 items into theirs.
 */
export async function oldestPending(
  connectorId: string,
  mailboxes: readonly string[] = [],
): Promise<{ oldest: PendingKey | null; byMailbox: Map<string, bigint> }> {
  const [oldest] = await asClaim<PendingKey[]>(Prisma.sql`
    SELECT "createdAt"::text AS "createdAt", id FROM "ImportItem"
    WHERE "connectorId" = ${connectorId}::uuid AND status = 'PENDING'
    ORDER BY "createdAt", id
    LIMIT 1`);
  const rows = await db.$queryRaw<Array<{ mailbox: string; id: bigint | null }>>`
    SELECT m.mailbox, (
      SELECT id FROM "ImportItem"
      WHERE "connectorId" = ${connectorId}::uuid AND status = 'PENDING' AND mailbox = m.mailbox
      ORDER BY id LIMIT 1
    ) AS id
    FROM unnest(${mailboxes}::text[]) AS m(mailbox)`;
  const byMailbox = new Map(rows.flatMap((row) => (row.id === null ? [] : [[row.mailbox, row.id] as const])));
  return { oldest: oldest ?? null, byMailbox };
}

/**
 * The mailboxes with items waiting. `busiest`: the `limit` with the most, at least `minItems` each,
 * most first; at Graph's budget of 10,000 requests per 10 minutes per mailbox, a mailbox with
 * thousands of items takes minutes whatever else the run does (see claimItems). `all`: every one of
 * them, when there are at most `allUpTo` (claimItems' `pendingMailboxes`), or null. One count over
 * ImportItem_pending_mailbox_idx.
 */
export async function pendingMailboxes(
  connectorId: string,
  { minItems, limit, allUpTo }: { minItems: number; limit: number; allUpTo: number },
): Promise<{ busiest: string[]; all: string[] | null }> {
  const rows = await db.$queryRaw<Array<{ mailbox: string; items: number }>>`
    SELECT mailbox, count(*)::int AS items FROM "ImportItem"
    WHERE "connectorId" = ${connectorId}::uuid AND status = 'PENDING'
    GROUP BY mailbox
    ORDER BY count(*) DESC, mailbox
    LIMIT ${Math.max(limit, allUpTo + 1)}`;
  return {
    busiest: rows
      .slice(0, limit)
      .filter((row) => row.items >= minItems)
      .map((row) => row.mailbox),
    all: rows.length <= allUpTo ? rows.map((row) => row.mailbox) : null,
  };
}

/**
 * Keeps this worker's claims alive while it works on them (a dead worker's claims simply expire). Rows
 * another statement holds are left alone: that is this worker writing their outcomes, which takes the
 * same rows in its own order, so waiting for them deadlocked now and then (PostgreSQL then failed one
 * of the two, and a failed outcome write stops the run); those items are done with their claims.
 */
export async function extendClaims(workerId: string, ids: bigint[], claimSeconds: number): Promise<void> {
  if (ids.length === 0) return;
  await db.$executeRaw`
    UPDATE "ImportItem" SET "claimedUntil" = ${NOW} + make_interval(secs => ${claimSeconds})
    WHERE id IN (
      SELECT id FROM "ImportItem"
      WHERE id = ANY(${ids.map(String)}::bigint[]) AND "claimedBy" = ${workerId} AND status = 'PENDING'
      FOR UPDATE SKIP LOCKED)`;
}

/** How often, and how long apart, a suppression's note is tried again on rows another statement held. */
const SUPPRESSION_TRIES = { times: 40, everyMs: 50 };

/**
 * Symphony suppressed a message: the archive keeps it, and the note saying so goes on the message (what
 * its items say once imported, see recordOutcomes) and on its items as they are now. Returns the items
 * noted. Rows another statement holds are skipped and noted on a later try, once it has committed: that
 * is a worker writing their outcomes, which takes the same rows in its own order, so waiting for them
 * while holding others could deadlock (and a failed outcome write stops the run). An outcome written
 * before the message's note was loses nothing: the later try notes its item.
 */
export async function recordSuppression(connectorId: string, messageKey: string, at: Date): Promise<number> {
  const messageId = storableKey(messageKey);
  const note = `suppressed in Symphony at ${at.toISOString()}; the archive keeps the message`;
  const suppressed = Prisma.sql`'suppressed in Symphony'`;
  const messages = await db.$executeRaw`
    UPDATE "SourceMessage" SET note = CASE
        WHEN note IS NULL OR note = '' THEN ${note}
        WHEN position(${suppressed} in note) > 0 THEN note
        ELSE note || '; ' || ${note} END
    WHERE "connectorId" = ${connectorId}::uuid AND "messageId" = ${messageId}`;
  if (messages === 0) {
    // Not recorded yet: kept until it is (see applyPendingSuppressions).
    await db.$executeRaw`
      INSERT INTO "PendingSuppression" ("connectorId", "messageId", "suppressedAt", "createdAt")
      VALUES (${connectorId}::uuid, ${messageId}, ${at}, ${NOW})
      ON CONFLICT DO NOTHING`;
    return 0;
  }
  const unnoted = Prisma.sql`
    SELECT item.id FROM "ImportItem" AS item
    JOIN "SourceMessage" AS message ON message.id = item."sourceMessageId"
    WHERE message."connectorId" = ${connectorId}::uuid AND message."messageId" = ${messageId}
      AND position(${suppressed} in coalesce(item.reason, '')) = 0`;
  let noted = 0;
  for (let tried = 1; ; tried++) {
    noted += await db.$executeRaw`
      UPDATE "ImportItem" SET "updatedAt" = ${NOW},
        reason = CASE WHEN reason IS NULL OR reason = '' THEN ${note} ELSE reason || '; ' || ${note} END
      WHERE id IN (${unnoted} FOR UPDATE OF item SKIP LOCKED)`;
    const [left] = await db.$queryRaw<{ count: bigint }[]>`SELECT count(*) FROM (${unnoted}) AS unnoted`;
    if (!left?.count || tried === SUPPRESSION_TRIES.times) return noted;
    await sleep(SUPPRESSION_TRIES.everyMs);
  }
}

/** How long a suppression waits for its message (the daily export brings a missed one within days). */
const PENDING_SUPPRESSION_DAYS = 30;

/**
 * Notes the suppressions read before their messages on those recorded since (by an export, a run, or
 * capture itself), and forgets those that waited longer than PENDING_SUPPRESSION_DAYS (a message of a
 * conversation the connector does not archive never comes). Returns the items noted.
 */
export async function applyPendingSuppressions(connectorId: string): Promise<number> {
  await db.$executeRaw`
    DELETE FROM "PendingSuppression"
    WHERE "connectorId" = ${connectorId}::uuid
      AND "createdAt" < ${NOW} - make_interval(days => ${PENDING_SUPPRESSION_DAYS})`;
  const due = await db.$queryRaw<Array<{ messageId: string; suppressedAt: Date }>>`
    SELECT pending."messageId", pending."suppressedAt" FROM "PendingSuppression" AS pending
    WHERE pending."connectorId" = ${connectorId}::uuid AND EXISTS (
      SELECT 1 FROM "SourceMessage" AS message
      WHERE message."connectorId" = pending."connectorId" AND message."messageId" = pending."messageId")`;
  let noted = 0;
  for (const { messageId, suppressedAt } of due) {
    noted += await recordSuppression(connectorId, messageId, suppressedAt);
    await db.$executeRaw`
      DELETE FROM "PendingSuppression" WHERE "connectorId" = ${connectorId}::uuid AND "messageId" = ${messageId}`;
  }
  return noted;
}

/**
 * How an attempt ended: IMPORTED (with the Graph id), FAILED (with the reason, and the Graph id of a
 * partial copy), or PENDING again, claimable by any worker after `retryDelaySeconds` (the reason keeps
 * the last error; `attemptFailed` says whether the attempt counts among the item's failures, which an
 * attempt stopped by something outside the item, such as a lost token, does not).
 */
export type AttemptOutcome =
  | { status: "IMPORTED"; graphMessageId: string; reason?: string }
  | { status: "FAILED"; reason: string; graphMessageId?: string }
  | { status: "PENDING"; reason: string; retryDelaySeconds: number; attemptFailed: boolean };

/** An attempt's outcome for item `id`, claimed as its attempt number `attempt` (ClaimedItem.attempts). */
export type ItemOutcome = AttemptOutcome & { id: bigint; attempt: number };

/**
 * Writes many outcomes of `workerId`'s attempts in one statement. Until it commits, an item stays
 * PENDING with its attempt counted, so an item whose message was created meanwhile is looked up by its
 * key on the next attempt. An item claimed again since the attempt's claim (it lapsed while PostgreSQL
 * was away: another claim took it, by another worker or another loop of this one, which counted a new
 * attempt) is left to that attempt: this outcome would end or free it under it.
 */
export async function recordOutcomes(workerId: string, outcomes: ItemOutcome[]): Promise<void> {
  if (outcomes.length === 0) return;
  const column = <T>(of: (outcome: ItemOutcome) => T) => outcomes.map(of);
  await db.$executeRaw`
    UPDATE "ImportItem" AS item
    SET status = outcome.status::"ItemStatus",
        "graphMessageId" = CASE WHEN outcome.status = 'PENDING' THEN item."graphMessageId" ELSE outcome."graphMessageId" END,
        reason = CASE WHEN outcome.status = 'PENDING' THEN outcome.reason ELSE NULLIF(concat_ws('; ', outcome.reason,
          (SELECT message.note FROM "SourceMessage" AS message WHERE message.id = item."sourceMessageId")), '') END,
        failures = item.failures + outcome.failed::int,
        "claimedBy" = CASE WHEN outcome.status = 'PENDING' THEN NULL ELSE item."claimedBy" END,
        "claimedUntil" = CASE WHEN outcome.status = 'PENDING' THEN ${NOW} + make_interval(secs => outcome.delay) END,
        "importedAt" = CASE WHEN outcome.status = 'IMPORTED' THEN ${NOW} ELSE item."importedAt" END,
        "updatedAt" = ${NOW}
    FROM unnest(
      ${column((o) => String(o.id))}::bigint[],
      ${column((o) => o.status)}::text[],
      ${column((o) => (o.status === "PENDING" ? null : (o.graphMessageId ?? null)))}::text[],
      ${column((o) => o.reason ?? null)}::text[],
      ${column((o) => (o.status === "PENDING" ? o.retryDelaySeconds : 0))}::float8[],
      ${column((o) => (o.status === "PENDING" ? o.attemptFailed : o.status === "FAILED"))}::boolean[],
      ${column((o) => o.attempt)}::int[]
    ) AS outcome(id, status, "graphMessageId", reason, delay, failed, attempt)
    WHERE item.id = outcome.id AND item.status = 'PENDING' AND item."claimedBy" = ${workerId}
      AND item.attempts = outcome.attempt`;
}

/** Counts in the run's figures the second copies an import deleted (see ImportResult.duplicatesRemoved). */
export async function countDuplicatesRemoved(runId: string, removed: number): Promise<void> {
  if (removed <= 0) return;
  await db.importRun.update({ where: { id: runId }, data: { duplicatesRemoved: { increment: removed } } });
}

/**
 * An item that failed while being imported into Microsoft 365, after at least one attempt: Retry failed
 * items may import it again (a mailbox added to the access policy's scope, licensed or emptied weeks
 * later), so retention keeps its staged copy. Items that failed before any attempt never will be.
 * `item` names the ImportItem row in the query (a table alias, or "ImportItem").
 */
export function failedWhileImporting(item: string): Prisma.Sql {
  const row = Prisma.raw(item);
  return Prisma.sql`(${row}.status = 'FAILED' AND ${row}.attempts > 0)`;
}

/**
 * Which of these staged blobs retention must keep: those with items waiting to be imported, or failed
 * while being imported, since the staged copy may be the archive's only one.
 */
export async function blobsStillNeeded(blobNames: string[]): Promise<Set<string>> {
  const rows = await db.$queryRaw<{ blobName: string }[]>`
    SELECT DISTINCT sm."blobName" FROM "SourceMessage" sm
    JOIN "ImportItem" ii ON ii."sourceMessageId" = sm.id
      AND (ii.status = 'PENDING' OR ${failedWhileImporting("ii")})
    WHERE sm."blobName" = ANY(${blobNames}::text[])`;
  return new Set(rows.map((row) => row.blobName));
}

/** PENDING items of the connector: all of them, and those no one may take right now (held or delayed). */
export async function pendingItems(connectorId: string): Promise<{ total: number; held: number }> {
  const [row] = await db.$queryRaw<Array<{ total: bigint; held: bigint }>>`
    SELECT count(*) AS total, count(*) FILTER (WHERE "claimedUntil" >= ${NOW}) AS held
    FROM "ImportItem" WHERE "connectorId" = ${connectorId}::uuid AND status = 'PENDING'`;
  if (!row) throw new Error("Counting the pending items returned no row.");
  return { total: Number(row.total), held: Number(row.held) };
}

/** How many of the run's items a claim holds now (its own worker's or its helpers' attempts in flight). */
export async function heldItemsOfRun(runId: string): Promise<number> {
  const [row] = await db.$queryRaw<Array<{ held: bigint }>>`
    SELECT count(*) AS held FROM "ImportItem"
    WHERE "runId" = ${runId}::uuid AND status = 'PENDING' AND "claimedUntil" >= ${NOW}`;
  return Number(row?.held ?? 0);
}

export type RunCounts = { imported: number; skipped: number; failed: number; pending: number; bytesImported: bigint };

/** The run's counts, read from the ledger (so a resumed or shared run counts every item once). */
export async function runCounts(runId: string): Promise<RunCounts> {
  const rows = await db.$queryRaw<Array<{ status: string; items: bigint; bytes: bigint | null }>>`
    SELECT item.status::text AS status, count(*) AS items, sum(message."sizeBytes")::bigint AS bytes
    FROM "ImportItem" AS item JOIN "SourceMessage" AS message ON message.id = item."sourceMessageId"
    WHERE item."runId" = ${runId}::uuid
    GROUP BY item.status`;
  const of = (status: string) => rows.find((row) => row.status === status);
  return {
    imported: Number(of("IMPORTED")?.items ?? 0),
    skipped: Number(of("SKIPPED")?.items ?? 0),
    failed: Number(of("FAILED")?.items ?? 0),
    pending: Number(of("PENDING")?.items ?? 0),
    bytesImported: of("IMPORTED")?.bytes ?? 0n,
  };
}
