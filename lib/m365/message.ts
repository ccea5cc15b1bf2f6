import {
  addSmallAttachments,
  attachedNames,
  fileAttachmentFile,
  missingFrom,
  planAttachments,
  type AttachmentPlan,
  type AttachmentTarget,
} from "./attachments";
import { base64Length } from "@/lib/base64";
import { send, sendOk, type GraphContext } from "./context";
import { MAX_RECEIVE_BYTES_CEILING, MailboxUnavailableError, tooLargeMessage } from "./errors";
import { filterQuery, graphError, isSuccess, odataString } from "./graph";
import type { ImportItem, ImportResult } from "./item";
import type { BodyParts } from "./body-parts";
import { jsonWithFiles } from "./json-body";
import { uploadLargeAttachment } from "./upload";

/** Our MAPI property set; never change it, or items imported before could no longer be found by key. */
export const SYMPHONY_PROPERTY_SET = "{7c4f1e2a-9b3d-4e58-a6c1-5d2f8b0e3a91}";
export const ITEM_KEY_PROPERTY = `String ${SYMPHONY_PROPERTY_SET} Name SymphonyItemKey`;

type Property = { id: string; value: string };

/**
 * The create body without attachments: the converted message (which makes it a received, non-draft
 * item with its original times) plus our idempotency key.
 */
export function createBody(graph: object, key: string): Record<string, unknown> {
  const existing = (graph as { singleValueExtendedProperties?: Property[] }).singleValueExtendedProperties ?? [];
  const properties = existing.filter((property) => property.id.toLowerCase() !== ITEM_KEY_PROPERTY.toLowerCase());
  return { ...graph, singleValueExtendedProperties: [...properties, { id: ITEM_KEY_PROPERTY, value: key }] };
}

/** The key filter: our named property with this value. */
function keyFilter(key: string): string {
  return filterQuery(
    `singleValueExtendedProperties/Any(ep: ep/id eq ${odataString(ITEM_KEY_PROPERTY)} and ep/value eq ${odataString(key)})`,
  );
}

/** The id of the message carrying `key` in the mailbox (in any folder: the user may have moved it). */
export async function findMessageByKey(
  ctx: GraphContext,
  userId: string,
  key: string,
  onSent?: (n: number) => void,
): Promise<string | undefined> {
  const page = await sendOk<{ value: Array<{ id: string }> }>(
    ctx,
    userId,
    { method: "GET", path: `/users/${encodeURIComponent(userId)}/messages?${keyFilter(key)}&$select=id&$top=1` },
    { onSent },
  );
  return page.value[0]?.id;
}

/** More copies than this of one key are not looked for: one retried create leaves two at most. */
const COPIES_LOOKED_FOR = 10;

/**
 * After a retried create: a create that timed out may still have landed, and then two items carry the
 * key. The earliest created stays (on a tie, `created`, the one this attempt got back); the later ones
 * are deleted. Returns the id that stays and how many were deleted.
 */
async function removeLaterCopies(
  ctx: GraphContext,
  userId: string,
  key: string,
  created: string,
  onSent: (n: number) => void,
): Promise<{ id: string; removed: number }> {
  const user = encodeURIComponent(userId);
  const page = await sendOk<{ value: Array<{ id: string; createdDateTime: string }> }>(
    ctx,
    userId,
    {
      method: "GET",
      path: `/users/${user}/messages?${keyFilter(key)}&$select=id,createdDateTime&$top=${COPIES_LOOKED_FOR}`,
    },
    { onSent },
  );
  // Graph refuses $orderby on another property than the filter's: sorted here.
  const [kept, ...later] = page.value.sort(
    (a, b) =>
      Date.parse(a.createdDateTime) - Date.parse(b.createdDateTime) ||
      Number(b.id === created) - Number(a.id === created),
  );
  if (!kept) return { id: created, removed: 0 };
  for (const copy of later) {
    const response = await send(
      ctx,
      userId,
      { method: "DELETE", path: `/users/${user}/messages/${encodeURIComponent(copy.id)}` },
      { onSent },
    );
    // 404: already gone (a retry of this delete, or the user deleted it).
    if (!isSuccess(response.status) && response.status !== 404) throw graphError(response);
  }
  return { id: kept.id, removed: later.length };
}

export type ImportOptions = {
  /**
   * True only when the ledger proves no earlier attempt of this item was ever started; then the
   * lookup by key is skipped. Anything else (a retry, a claimed item whose worker died) looks first.
   */
  firstAttempt?: boolean;
  /** Aborted when the caller gives the attempt up: from then on none of its Graph requests is sent. */
  signal?: AbortSignal;
  /**
   * The mailbox's MaxReceiveSize in bytes (undefined: unknown), asked only for items big enough to
   * matter; by default its maxMessageSize mail tip. The writer caches it per mailbox.
   */
  maxMessageSize?: () => Promise<number | undefined>;
};

/** Below this estimated size no mailbox limit is looked up (Exchange Online's limits start far above). */
export const SIZE_CHECK_FROM_BYTES = 1024 * 1024;

/**
 * The recipient's maximum message size (MaxReceiveSize, or the organisation's) from its
 * `maxMessageSize` mail tip; undefined when Graph does not say.
 */
export async function mailboxMaxMessageSize(
  ctx: GraphContext,
  userId: string,
  address: string,
  onSent?: (n: number) => void,
): Promise<number | undefined> {
  const response = await send(
    ctx,
    userId,
    {
      method: "POST",
      path: `/users/${encodeURIComponent(userId)}/getMailTips`,
      body: { EmailAddresses: [address], MailTipsOptions: "maxMessageSize" },
    },
    { onSent },
  );
  if (response.status < 200 || response.status >= 300) return undefined;
  const tip = (response.body as { value?: Array<{ maxMessageSize?: unknown }> } | undefined)?.value?.[0];
  return typeof tip?.maxMessageSize === "number" && tip.maxMessageSize > 0 ? tip.maxMessageSize : undefined;
}

/**
 * Imports one item into `folderId`, exactly once. A retry finds the message an earlier attempt
 * created (by key) and completes it: attachments it lacks are added, the message is never created
 * twice. Small attachments that fit travel inside the create request, so they land with the message
 * or not at all; until a retry completes it, a message may lack only its other attachments.
 */
export async function importMessage(
  graphContext: GraphContext,
  userId: string,
  folderId: string,
  item: ImportItem,
  { firstAttempt = false, signal, maxMessageSize }: ImportOptions = {},
): Promise<ImportResult> {
  const ctx = signal ? withSignal(graphContext, signal) : graphContext;
  let requests = 0;
  const onSent = (n: number) => (requests += n);
  const found = firstAttempt ? undefined : await findMessageByKey(ctx, userId, item.key, onSent);

  let graphMessageId: string;
  /** The message this attempt created, if it did. */
  let createdId: string | undefined;
  let duplicatesRemoved = 0;
  let plan: AttachmentPlan;
  if (found) {
    graphMessageId = found;
    const attached =
      item.attachments.length > 0
        ? await attachedNames({ ctx, userId, messageId: found, onSent })
        : new Map<string, number>();
    plan = planAttachments(missingFrom(item.attachments, attached), undefined);
  } else {
    const create = createRequestOf(item);
    // The whole message counts against the mailbox's MaxReceiveSize: refuse it here rather than
    // create a message whose attachments Exchange will then refuse.
    // Without a mail tip, Exchange Online's ceiling (150 MB) still holds for every mailbox.
    if (create.size > SIZE_CHECK_FROM_BYTES) {
      const limit = (await maxMessageSize?.()) ?? MAX_RECEIVE_BYTES_CEILING;
      if (create.size > limit) throw new MailboxUnavailableError("too-large", tooLargeMessage(create.size, limit));
    }
    plan = create.plan;
    // The small attachments that fit travel in the same request, so they land with the message.
    const body = await create.body();
    const created = await createMessage(ctx, userId, folderId, item.key, body, onSent);
    graphMessageId = created.id;
    createdId = created.id;
    // A create sent more than once (here, or by an earlier attempt whose create timed out) may have
    // landed twice; the lookup before a retry can miss a create that lands late.
    if (created.retried || !firstAttempt) {
      const kept = await removeLaterCopies(ctx, userId, item.key, created.id, onSent);
      graphMessageId = kept.id;
      duplicatesRemoved = kept.removed;
    }
  }

  const target: AttachmentTarget = { ctx, userId, messageId: graphMessageId, onSent };
  try {
    await Promise.all([
      plan.small.length > 0 ? addSmallAttachments(target, plan.small, item.attachments) : undefined,
      ...plan.large.map((attachment) => uploadLargeAttachment(target, attachment, item.attachments)),
    ]);
  } catch (error) {
    // A file the mailbox refuses for good (the message past its size limit, the mailbox full): left
    // without it, the item would not be what was sent. The message this attempt created is removed (best
    // effort: a copy left is found by key and completed when the item is retried) and the item fails
    // with the reason. One found by key is left: another row of the same mailbox may own it.
    if (error instanceof MailboxUnavailableError && graphMessageId === createdId)
      await removeMessage(ctx, userId, graphMessageId, onSent);
    throw error;
  }
  return { graphMessageId, requests, existing: found !== undefined, duplicatesRemoved };
}

async function removeMessage(
  ctx: GraphContext,
  userId: string,
  messageId: string,
  onSent: (n: number) => void,
): Promise<void> {
  const path = `/users/${encodeURIComponent(userId)}/messages/${encodeURIComponent(messageId)}`;
  await send(ctx, userId, { method: "DELETE", path }, { onSent }).catch(() => undefined);
}

async function createMessage(
  ctx: GraphContext,
  userId: string,
  folderId: string,
  key: string,
  body: Buffer | BodyParts,
  onSent: (n: number) => void,
): Promise<{ id: string; retried: boolean }> {
  let posts = 0;
  const response = await send(
    ctx,
    userId,
    {
      method: "POST",
      path: `/users/${encodeURIComponent(userId)}/mailFolders/${encodeURIComponent(folderId)}/messages`,
      body,
      // Creates of messages for any mailboxes go out together in a $batch (see batching.ts).
      batchable: true,
    },
    {
      onSent: (n) => {
        posts += 1;
        onSent(n);
      },
      // The create may have worked although the answer was a 5xx or never came: look it up first.
      beforeRetry: async () => {
        const id = await findMessageByKey(ctx, userId, key, onSent);
        return id ? { status: 200, headers: new Headers(), body: { id } } : undefined;
      },
    },
  );
  if (response.status !== 201 && response.status !== 200) throw graphError(response);
  return { id: (response.body as { id: string }).id, retried: posts > 1 };
}

type CreateRequest = { size: number; plan: AttachmentPlan; body: () => Promise<Buffer | BodyParts> };

/**
 * The create request of an item, built once for all the mailboxes of its message: its body is the
 * same bytes for each (the key names the message, not the mailbox), and building its JSON costs more
 * CPU than sending it. Kept as long as the item object is; the files' base64 in it is made each time
 * it is sent (lib/m365/json-body.ts), so that it is not held while the items wait for their mailboxes.
 */
const createRequests = new WeakMap<ImportItem, CreateRequest>();

function createRequestOf(item: ImportItem): CreateRequest {
  const known = createRequests.get(item);
  if (known) return known;
  const message = createBody(item.graph, item.key);
  const bodyBytes = Buffer.byteLength(JSON.stringify(message));
  const plan = planAttachments(item.attachments, bodyBytes);
  let body: Promise<Buffer | BodyParts> | undefined;
  const create: CreateRequest = {
    // A file takes its base64 size in the message, as Exchange counts it.
    size: bodyBytes + item.attachments.reduce((sum, a) => sum + base64Length(a.size), 0),
    plan,
    body: () =>
      (body ??= Promise.all(plan.inCreate.map(fileAttachmentFile)).then(
        (files) => jsonWithFiles(message, "attachments", files),
        (error: unknown) => {
          // A file that could not be read is read again by the next mailbox's attempt.
          body = undefined;
          throw error;
        },
      )),
  };
  createRequests.set(item, create);
  return create;
}

/** The same Graph context, with every request it schedules tied to `signal`. */
function withSignal(ctx: GraphContext, signal: AbortSignal): GraphContext {
  const { scheduler } = ctx;
  return {
    ...ctx,
    scheduler: {
      ...scheduler,
      schedule: (key, send, options) => scheduler.schedule(key, send, { ...options, signal }),
    },
  };
}
