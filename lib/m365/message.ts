import { addSmallAttachments, attachedNames, missingFrom, SMALL_ATTACHMENT_MAX_BYTES, type AttachmentTarget } from "./attachments";
import { send, sendOk, type GraphContext } from "./context";
import { filterQuery, graphError, odataString } from "./graph";
import type { ImportItem, ImportResult } from "./item";
import { uploadLargeAttachment } from "./upload";

/** Our MAPI property set; never change it, or items imported before could no longer be found by key. */
export const SYMPHONY_PROPERTY_SET = "{7c4f1e2a-9b3d-4e58-a6c1-5d2f8b0e3a91}";
export const ITEM_KEY_PROPERTY = `String ${SYMPHONY_PROPERTY_SET} Name SymphonyItemKey`;
/** PR_MESSAGE_FLAGS = MSGFLAG_READ: a received, read item; without it Exchange keeps the item a draft. */
const MESSAGE_FLAGS_PROPERTY = "Integer 0x0E07";
const DELIVERY_TIME_PROPERTY = "SystemTime 0x0E06";
const SUBMIT_TIME_PROPERTY = "SystemTime 0x0039";

type Property = { id: string; value: string };

/**
 * The create body for an imported item: the converted message, made a received non-draft item with
 * its original times (Graph's receivedDateTime/sentDateTime are read-only, so they become the MAPI
 * delivery and submit times) and carrying our idempotency key. Properties already set by the
 * converter win, except the key.
 */
export function importBody(graph: Record<string, unknown>, key: string): Record<string, unknown> {
  const { receivedDateTime, sentDateTime, singleValueExtendedProperties, ...message } = graph;
  const properties = new Map<string, Property>();
  const put = (id: string, value: unknown, override = false) => {
    if (typeof value !== "string" || (!override && properties.has(id.toLowerCase()))) return;
    properties.set(id.toLowerCase(), { id, value });
  };
  for (const property of (singleValueExtendedProperties as Property[] | undefined) ?? []) put(property.id, property.value);
  put(MESSAGE_FLAGS_PROPERTY, "1");
  put(DELIVERY_TIME_PROPERTY, receivedDateTime ?? sentDateTime);
  put(SUBMIT_TIME_PROPERTY, sentDateTime ?? receivedDateTime);
  put(ITEM_KEY_PROPERTY, key, true);
  return { ...message, singleValueExtendedProperties: [...properties.values()] };
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
    {
      method: "GET",
      path: `/users/${encodeURIComponent(userId)}/messages?${filterQuery(filter)}&$select=id&$top=1`,
    },
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
};

/**
 * Imports one item into `folderId`, exactly once. A retry finds the message an earlier attempt
 * created (by key) and completes it: attachments it lacks are added, the message is never created
 * twice. Until then the message may be visible without some attachments.
 */
export async function importMessage(
  ctx: GraphContext,
  userId: string,
  folderId: string,
  item: ImportItem,
  { firstAttempt = false }: ImportOptions = {},
): Promise<ImportResult> {
  let requests = 0;
  const onSent = (n: number) => (requests += n);
  const found = firstAttempt ? undefined : await findMessageByKey(ctx, userId, item.key, onSent);
  const graphMessageId = found ?? (await createMessage(ctx, userId, folderId, item, onSent));

  const target: AttachmentTarget = { ctx, userId, messageId: graphMessageId, onSent };
  const missing =
    found && item.attachments.length > 0 ? missingFrom(item.attachments, await attachedNames(target)) : item.attachments;
  const small = missing.filter((attachment) => attachment.size < SMALL_ATTACHMENT_MAX_BYTES);
  const large = missing.filter((attachment) => attachment.size >= SMALL_ATTACHMENT_MAX_BYTES);
  await Promise.all([
    small.length > 0 ? addSmallAttachments(target, small, item.attachments) : undefined,
    ...large.map((attachment) => uploadLargeAttachment(target, attachment, item.attachments)),
  ]);
  return { graphMessageId, requests, existing: found !== undefined };
}

async function createMessage(
  ctx: GraphContext,
  userId: string,
  folderId: string,
  item: ImportItem,
  onSent: (n: number) => void,
): Promise<string> {
  let recovered: string | undefined;
  const response = await send(
    ctx,
    userId,
    {
      method: "POST",
      path: `/users/${encodeURIComponent(userId)}/mailFolders/${encodeURIComponent(folderId)}/messages`,
      body: importBody(item.graph, item.key),
    },
    {
      onSent,
      // The create may have worked although the answer was a 5xx or never came: look it up first.
      beforeRetry: async () => {
        recovered = await findMessageByKey(ctx, userId, item.key, onSent);
        return recovered ? { status: 200, headers: new Headers(), body: { id: recovered } } : undefined;
      },
    },
  );
  if (response.status !== 201 && response.status !== 200) throw graphError(response);
  return (response.body as { id: string }).id;
}
