import {
  addSmallAttachments,
  attachedNames,
  fileAttachmentBody,
  missingFrom,
  planAttachments,
  type AttachmentPlan,
  type AttachmentTarget,
} from "./attachments";
import { send, sendOk, type GraphContext } from "./context";
import { filterQuery, graphError, odataString } from "./graph";
import type { ImportItem, ImportResult } from "./item";
import { uploadLargeAttachment } from "./upload";

/** Our MAPI property set; never change it, or items imported before could no longer be found by key. */
export const SYMPHONY_PROPERTY_SET = "{7c4f1e2a-9b3d-4e58-a6c1-5d2f8b0e3a91}";
export const ITEM_KEY_PROPERTY = `String ${SYMPHONY_PROPERTY_SET} Name SymphonyItemKey`;

type Property = { id: string; value: string };

/**
 * The create body: the converted message (which makes it a received, non-draft item with its
 * original times) plus our idempotency key and the small attachments that fit in the same request.
 */
export function createBody(
  graph: object,
  key: string,
  attachments: Record<string, unknown>[],
): Record<string, unknown> {
  const existing = (graph as { singleValueExtendedProperties?: Property[] }).singleValueExtendedProperties ?? [];
  const properties = existing.filter((property) => property.id.toLowerCase() !== ITEM_KEY_PROPERTY.toLowerCase());
  return {
    ...graph,
    singleValueExtendedProperties: [...properties, { id: ITEM_KEY_PROPERTY, value: key }],
    ...(attachments.length > 0 ? { attachments } : {}),
  };
}

/** The id of the message carrying `key` in the mailbox (in any folder: the user may have moved it). */
export async function findMessageByKey(
  ctx: GraphContext,
  userId: string,
  key: string,
  onSent?: (n: number) => void,
): Promise<string | undefined> {
  const filter = `singleValueExtendedProperties/Any(ep: ep/id eq ${odataString(ITEM_KEY_PROPERTY)} and ep/value eq ${odataString(key)})`;
  const page = await sendOk<{ value: Array<{ id: string }> }>(
    ctx,
    userId,
    { method: "GET", path: `/users/${encodeURIComponent(userId)}/messages?${filterQuery(filter)}&$select=id&$top=1` },
    { onSent },
  );
  return page.value[0]?.id;
}

export type ImportOptions = {
  /**
   * True only when the ledger proves no earlier attempt of this item was ever started; then the
   * lookup by key is skipped. Anything else (a retry, a claimed item whose worker died) looks first.
   */
  firstAttempt?: boolean;
  /** Aborted when the caller gives the attempt up: from then on none of its Graph requests is sent. */
  signal?: AbortSignal;
};

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
  { firstAttempt = false, signal }: ImportOptions = {},
): Promise<ImportResult> {
  const ctx = signal ? withSignal(graphContext, signal) : graphContext;
  let requests = 0;
  const onSent = (n: number) => (requests += n);
  const found = firstAttempt ? undefined : await findMessageByKey(ctx, userId, item.key, onSent);

  let graphMessageId: string;
  let plan: AttachmentPlan;
  if (found) {
    graphMessageId = found;
    const attached =
      item.attachments.length > 0
        ? await attachedNames({ ctx, userId, messageId: found, onSent })
        : new Map<string, number>();
    plan = planAttachments(missingFrom(item.attachments, attached), undefined);
  } else {
    plan = planAttachments(item.attachments, Buffer.byteLength(JSON.stringify(createBody(item.graph, item.key, []))));
    const body = createBody(item.graph, item.key, await Promise.all(plan.inCreate.map(fileAttachmentBody)));
    graphMessageId = await createMessage(ctx, userId, folderId, item.key, body, onSent);
  }

  const target: AttachmentTarget = { ctx, userId, messageId: graphMessageId, onSent };
  await Promise.all([
    plan.small.length > 0 ? addSmallAttachments(target, plan.small, item.attachments) : undefined,
    ...plan.large.map((attachment) => uploadLargeAttachment(target, attachment, item.attachments)),
  ]);
  return { graphMessageId, requests, existing: found !== undefined };
}

async function createMessage(
  ctx: GraphContext,
  userId: string,
  folderId: string,
  key: string,
  body: Record<string, unknown>,
  onSent: (n: number) => void,
): Promise<string> {
  const response = await send(
    ctx,
    userId,
    {
      method: "POST",
      path: `/users/${encodeURIComponent(userId)}/mailFolders/${encodeURIComponent(folderId)}/messages`,
      body,
    },
    {
      onSent,
      // The create may have worked although the answer was a 5xx or never came: look it up first.
      beforeRetry: async () => {
        const id = await findMessageByKey(ctx, userId, key, onSent);
        return id ? { status: 200, headers: new Headers(), body: { id } } : undefined;
      },
    },
  );
  if (response.status !== 201 && response.status !== 200) throw graphError(response);
  return (response.body as { id: string }).id;
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
