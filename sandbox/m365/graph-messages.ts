import { randomBytes } from "node:crypto";
import { z } from "zod";
import type { GraphCall, GraphRequest, GraphResponse } from "./graph-types";
import { graphError, ok } from "./graph-types";
import { graphBase } from "./graph-users";
import { parseJsonBody } from "./graph-json";
import {
  applySelect,
  nextLink,
  paginate,
  parseEquality,
  parseExtendedPropertyFilter,
  parseSelect,
  splitCommas,
  splitTopLevel,
} from "./odata";
import {
  PR_CLIENT_SUBMIT_TIME,
  PR_MESSAGE_DELIVERY_TIME,
  invalidValue,
  isDraftFromFlags,
  isReadFromFlags,
  messageFlags,
  normalizePropertyId,
} from "./extended-properties";
import { fileAttachmentSchema, serializeAttachment, storeFileAttachment } from "./graph-attachments";
import { sizeRefusal } from "./mailbox-policy";
import { newId, type ExtendedProperty, type Folder, type Message, type User } from "./state";
import type { MessageSummary } from "./message-store";

const recipient = z.object({ emailAddress: z.object({ name: z.string().optional(), address: z.string().optional() }) });

const createMessageSchema = z.strictObject({
  "@odata.type": z.literal("#microsoft.graph.message").optional(),
  subject: z.string().optional(),
  body: z.object({ contentType: z.string().regex(/^(html|text)$/i), content: z.string() }).optional(),
  from: recipient.optional(),
  sender: recipient.optional(),
  toRecipients: z.array(recipient).optional(),
  ccRecipients: z.array(recipient).optional(),
  bccRecipients: z.array(recipient).optional(),
  replyTo: z.array(recipient).optional(),
  internetMessageId: z
    .string()
    .regex(/^<[^<>\s]+>$/, "must look like <id@host>")
    .optional(),
  isRead: z.boolean().optional(),
  importance: z
    .string()
    .regex(/^(low|normal|high)$/i)
    .optional(),
  categories: z.array(z.string()).optional(),
  // Read-only in Graph: accepted and ignored, as Exchange does; times come from extended properties.
  receivedDateTime: z.string().optional(),
  sentDateTime: z.string().optional(),
  singleValueExtendedProperties: z.array(z.object({ id: z.string(), value: z.string() })).optional(),
  internetMessageHeaders: z.array(z.object({ name: z.string(), value: z.string() })).optional(),
  attachments: z.array(fileAttachmentSchema).optional(),
});

/**
 * Graph's limits on custom headers given on create: at most 5 (Microsoft Q&A 762243: 400
 * InvalidInternetMessageHeaderCollection), each named `x-`/`X-` (the message resource: "Add custom
 * headers only when creating a message, and name them starting with "x-""; 400 InvalidInternetMessageHeader).
 */
export const MAX_INTERNET_MESSAGE_HEADERS = 5;

function headerRefusal(call: GraphCall, headers: Array<{ name: string }>): GraphResponse | undefined {
  if (headers.length > MAX_INTERNET_MESSAGE_HEADERS)
    return graphError(
      400,
      "InvalidInternetMessageHeaderCollection",
      `Maximum number of headers in one message should be less than or equal to ${MAX_INTERNET_MESSAGE_HEADERS}.`,
      call,
    );
  const bad = headers.find((header) => !/^x-/i.test(header.name));
  if (bad)
    return graphError(
      400,
      "InvalidInternetMessageHeader",
      `The internet message header name '${bad.name}' should start with 'x-' or 'X-'.`,
      call,
    );
  return undefined;
}

function graphTime(date: Date | string): string {
  return new Date(date).toISOString().replace(/\.\d{3}Z$/, "Z");
}

export function createMessage(call: GraphCall, req: GraphRequest, user: User, folder: Folder): GraphResponse {
  const parsed = parseJsonBody(call, req, createMessageSchema);
  if (!parsed.ok) return parsed.response;
  // The JSON carries inline attachments base64-encoded, as the MIME would: its length is the size.
  const tooLarge = sizeRefusal(call, user, req.bodySize);
  if (tooLarge) return tooLarge;
  const input = parsed.value;
  const badHeaders = headerRefusal(call, input.internetMessageHeaders ?? []);
  if (badHeaders) return badHeaders;
  const properties: ExtendedProperty[] = [];
  for (const property of input.singleValueExtendedProperties ?? []) {
    const id = normalizePropertyId(property.id);
    if (!id)
      return graphError(
        400,
        "ErrorInvalidExtendedProperty",
        `The extended property id '${property.id}' is not valid.`,
        call,
      );
    const problem = invalidValue(id, property.value);
    if (problem) return graphError(400, "ErrorInvalidExtendedPropertyValue", problem, call);
    properties.push({ id, value: property.value });
  }
  const now = graphTime(new Date());
  const flags = messageFlags(properties);
  const delivered = properties.find((p) => p.id === PR_MESSAGE_DELIVERY_TIME)?.value;
  const submitted = properties.find((p) => p.id === PR_CLIENT_SUBMIT_TIME)?.value;
  const message: Message = {
    id: newId(),
    userId: user.id,
    parentFolderId: folder.id,
    createdDateTime: now,
    lastModifiedDateTime: now,
    receivedDateTime: delivered ? graphTime(delivered) : now,
    sentDateTime: submitted ? graphTime(submitted) : delivered ? graphTime(delivered) : now,
    isDraft: isDraftFromFlags(flags),
    isRead: input.isRead ?? isReadFromFlags(flags),
    subject: input.subject ?? "",
    body: {
      contentType: input.body?.contentType.toLowerCase() === "html" ? "html" : "text",
      content: input.body?.content ?? "",
    },
    from: input.from ?? null,
    sender: input.sender ?? input.from ?? null,
    toRecipients: input.toRecipients ?? [],
    ccRecipients: input.ccRecipients ?? [],
    bccRecipients: input.bccRecipients ?? [],
    replyTo: input.replyTo ?? [],
    internetMessageId: input.internetMessageId ?? `<${randomBytes(12).toString("hex")}@sandbox.outlook.local>`,
    importance: (input.importance ?? "normal").toLowerCase(),
    conversationId: newId(),
    extendedProperties: properties,
    ...(input.internetMessageHeaders
      ? { internetMessageHeaders: input.internetMessageHeaders.map(({ name, value }) => ({ name, value })) }
      : {}),
    attachments: [],
  };
  for (const attachment of input.attachments ?? []) {
    const stored = storeFileAttachment(call, attachment);
    if (!stored.ok) return stored.response;
    message.attachments.push(stored.attachment);
  }
  call.ctx.state.messages.save(message);
  return ok(
    {
      "@odata.context": `${graphBase(call)}/$metadata#users('${user.id}')/messages/$entity`,
      ...serializeMessage(call, message, null),
    },
    201,
  );
}

type Expand = { extendedPropertyIds: string[] | "all" | null; attachments: boolean };

/** Graph returns internetMessageHeaders only when `$select` names it. */
function selectsHeaders(select: string[] | null): boolean {
  return select?.some((name) => name.toLowerCase() === "internetmessageheaders") ?? false;
}

function parseExpand(query: URLSearchParams): Expand | { error: string } {
  const expand: Expand = { extendedPropertyIds: null, attachments: false };
  const text = query.get("$expand");
  if (!text) return expand;
  for (const part of splitCommas(text)) {
    const item = part.trim();
    if (/^attachments$/i.test(item)) {
      expand.attachments = true;
      continue;
    }
    const match = /^singleValueExtendedProperties(?:\(\$filter=(.+)\))?$/i.exec(item);
    if (!match) return { error: `Could not find a property named '${item}' on type 'microsoft.graph.message'.` };
    if (!match[1]) {
      expand.extendedPropertyIds = "all";
      continue;
    }
    const ids: string[] = [];
    for (const clause of splitTopLevel(match[1], "or")) {
      const equality = parseEquality(clause);
      const id = equality && equality.property.toLowerCase() === "id" ? normalizePropertyId(equality.value) : null;
      if (!id) return { error: `Invalid $expand filter '${match[1]}'.` };
      ids.push(id);
    }
    expand.extendedPropertyIds = ids;
  }
  return expand;
}

export function serializeMessage(
  call: GraphCall,
  message: Message,
  expand: Expand | null,
  headers = false,
): Record<string, unknown> {
  const body: Record<string, unknown> = {
    "@odata.etag": `W/"${Buffer.from(message.lastModifiedDateTime).toString("base64")}"`,
    id: message.id,
    createdDateTime: message.createdDateTime,
    lastModifiedDateTime: message.lastModifiedDateTime,
    changeKey: Buffer.from(message.lastModifiedDateTime).toString("base64"),
    categories: [],
    receivedDateTime: message.receivedDateTime,
    sentDateTime: message.sentDateTime,
    hasAttachments: message.attachments.some((a) => !a.isInline),
    internetMessageId: message.internetMessageId,
    subject: message.subject,
    bodyPreview: stripTags(message.body.content).slice(0, 255),
    importance: message.importance,
    parentFolderId: message.parentFolderId,
    conversationId: message.conversationId,
    isDeliveryReceiptRequested: false,
    isReadReceiptRequested: false,
    isRead: message.isRead,
    isDraft: message.isDraft,
    webLink: `${call.ctx.origin()}/sandbox/mailbox/${encodeURIComponent(call.ctx.state.users.get(message.userId)?.mail ?? "")}/messages/${encodeURIComponent(message.id)}`,
    inferenceClassification: "focused",
    body: message.body,
    sender: message.sender,
    from: message.from,
    toRecipients: message.toRecipients,
    ccRecipients: message.ccRecipients,
    bccRecipients: message.bccRecipients,
    replyTo: message.replyTo,
    flag: { flagStatus: "notFlagged" },
  };
  if (headers) body.internetMessageHeaders = message.internetMessageHeaders ?? [];
  if (expand?.extendedPropertyIds) {
    const ids = expand.extendedPropertyIds;
    const selected = message.extendedProperties.filter((p) => ids === "all" || ids.includes(p.id));
    if (selected.length > 0) body.singleValueExtendedProperties = selected;
  }
  if (expand?.attachments) body.attachments = message.attachments.map((a) => serializeAttachment(a, false));
  return body;
}

function stripTags(html: string): string {
  return html
    .replace(/<[^>]*>/g, " ")
    .replace(/\s+/g, " ")
    .trim();
}

function messagePredicate(clause: string): ((m: MessageSummary) => boolean) | null {
  const extended = parseExtendedPropertyFilter(clause);
  if (extended) {
    const id = normalizePropertyId(extended.id);
    if (!id) return null;
    const value = extended.value.toLowerCase();
    return (m) => m.extendedProperties.some((p) => p.id === id && p.value.toLowerCase() === value);
  }
  const equality = parseEquality(clause);
  if (equality?.property.toLowerCase() === "internetmessageid") return (m) => m.internetMessageId === equality.value;
  const [, bool] = /^isDraft\s+eq\s+(true|false)$/i.exec(clause.trim()) ?? [];
  if (bool !== undefined) return (m) => m.isDraft === (bool.toLowerCase() === "true");
  return null;
}

const ORDERABLE = ["receivedDateTime", "sentDateTime", "createdDateTime", "lastModifiedDateTime"] as const;

export function listMessages(call: GraphCall, req: GraphRequest, user: User, folder: Folder | null): GraphResponse {
  const { messages } = call.ctx.state;
  let items = messages.summariesOfUser(user.id).filter((m) => !folder || m.parentFolderId === folder.id);
  const filter = req.query.get("$filter");
  if (filter) {
    const predicates = splitTopLevel(filter, "and").map(messagePredicate);
    if (predicates.some((p) => p === null)) {
      return graphError(400, "ErrorInvalidUrlQueryFilter", `The query filter '${filter}' is not supported.`, call);
    }
    items = items.filter((m) => predicates.every((p) => p!(m)));
  }
  const [, property, order] =
    /^(\w+)(?:\s+(asc|desc))?$/i.exec(req.query.get("$orderby") ?? "receivedDateTime desc") ?? [];
  const key = ORDERABLE.find((k) => k.toLowerCase() === property?.toLowerCase());
  if (!key) return graphError(400, "BadRequest", `Unsupported $orderby '${req.query.get("$orderby")}'.`, call);
  const direction = order?.toLowerCase() === "desc" ? -1 : 1;
  items.sort(
    (a, b) => direction * (a[key].localeCompare(b[key]) || a.createdDateTime.localeCompare(b.createdDateTime)),
  );

  const expand = parseExpand(req.query);
  if ("error" in expand) return graphError(400, "BadRequest", expand.error, call);
  const page = paginate(items, req.query, 10, 1000);
  if ("error" in page) return graphError(400, "BadRequest", page.error, call);
  const select = parseSelect(req.query);
  return ok({
    "@odata.context": `${graphBase(call)}/$metadata#users('${user.id}')/messages`,
    value: page.items.map((summary) =>
      applySelect(
        serializeMessage(call, messages.get(summary.id)!, expand, selectsHeaders(select)),
        withExpanded(select, expand),
      ),
    ),
    ...(page.nextSkip !== null
      ? { "@odata.nextLink": nextLink(graphBase(call), req.path, req.query, page.nextSkip) }
      : {}),
  });
}

function withExpanded(select: string[] | null, expand: Expand): string[] | null {
  if (!select) return null;
  return [
    ...select,
    ...(expand.extendedPropertyIds ? ["singleValueExtendedProperties"] : []),
    ...(expand.attachments ? ["attachments"] : []),
  ];
}

export function getMessage(call: GraphCall, req: GraphRequest, message: Message): GraphResponse {
  const expand = parseExpand(req.query);
  if ("error" in expand) return graphError(400, "BadRequest", expand.error, call);
  const select = parseSelect(req.query);
  return ok({
    "@odata.context": `${graphBase(call)}/$metadata#users('${message.userId}')/messages/$entity`,
    ...applySelect(serializeMessage(call, message, expand, selectsHeaders(select)), withExpanded(select, expand)),
  });
}

export function deleteMessage(call: GraphCall, message: Message): GraphResponse {
  call.ctx.state.deleteMessage(message.id);
  return { status: 204, headers: {} };
}
