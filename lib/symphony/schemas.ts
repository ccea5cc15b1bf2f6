import { z } from "zod";
import type { StreamType } from "@/lib/stream-types";

// Response shapes of the Symphony endpoints the connector uses (finos/symphony-api-spec:
// pod-api-public.yaml, agent-api-public.yaml, authenticator-api-public.yaml). Unknown fields are
// dropped; the fields the connector relies on are required and typed, except in a message, where
// every field is optional as in the spec (the collector decides what a message without them means).

/** The end of year 9999: a later time is no date a message can have (nor one ISO 8601 and PostgreSQL write plainly). */
const LATEST_DATE_MS = 253_402_300_799_999;
const epochMs = z.number().int().nonnegative().max(LATEST_DATE_MS);
const optionalText = z.string().nullish();

/** authenticator: Token */
export const tokenSchema = z.object({
  name: z.string().optional(),
  token: z.string().min(1),
  authorizationToken: z.string().optional(),
});

/** pod: V2UserDetail, an item of GET /pod/v2/admin/user/list */
export const adminUserSchema = z.object({
  userAttributes: z.object({
    emailAddress: optionalText,
    firstName: optionalText,
    lastName: optionalText,
    displayName: optionalText,
    userName: optionalText,
    companyName: optionalText,
    accountType: optionalText,
  }),
  userSystemInfo: z.object({ id: z.number().int(), status: optionalText }),
});
export const adminUserListSchema = z.array(adminUserSchema);
export type AdminUser = z.infer<typeof adminUserSchema>;

/** pod: UserV2, an item of GET /pod/v3/users */
export const userSchema = z.object({
  id: z.number().int(),
  emailAddress: optionalText,
  firstName: optionalText,
  lastName: optionalText,
  displayName: optionalText,
  username: optionalText,
  company: optionalText,
  accountType: optionalText,
});
export const userListSchema = z.object({
  users: z
    .array(userSchema)
    .nullish()
    .transform((users) => users ?? []),
});
export type SymphonyUser = z.infer<typeof userSchema>;

/** The fields of a JSON object; none for anything else. */
function objectFields(item: unknown): Record<string, unknown> {
  return (typeof item === "object" && item !== null ? item : {}) as Record<string, unknown>;
}

/** An item that did not fit its schema: its own fields (to keep what can be kept) and where it went wrong. */
export function unfit(item: unknown, error: z.ZodError): { fields: Record<string, unknown>; where: string } {
  const fields = objectFields(item);
  const where = error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`)
    .join("; ");
  return { fields, where };
}

/** pod: V2AdminStreamInfo, an item of POST /pod/v1/admin/streams/list */
export type { StreamType };

export const adminStreamSchema = z.object({
  id: z.string().min(1),
  isExternal: z.boolean().nullish(),
  isActive: z.boolean().nullish(),
  isPublic: z.boolean().nullish(),
  /** A free string in the spec: types the connector does not know are listed here and skipped by the caller. */
  type: z.string(),
  attributes: z
    .object({
      roomName: optionalText,
      roomDescription: optionalText,
      members: z.array(z.number().int()).nullish(),
      createdByUserId: z.number().int().nullish(),
      createdDate: epochMs.nullish(),
      lastModifiedDate: epochMs.nullish(),
      originCompany: optionalText,
      originCompanyId: z.number().int().nullish(),
      membersCount: z.number().int().nullish(),
      lastMessageDate: epochMs.nullish(),
      /** Since SBE 20.16: a ROOM that is a group chat. */
      groupChat: z.boolean().nullish(),
    })
    .default({}),
});
/** A conversation as the connector takes it from the list; `invalid` says why its entry did not fit V2AdminStreamInfo. */
export type AdminStream = z.infer<typeof adminStreamSchema> & { invalid?: string };

/**
 * One entry that does not fit fails alone: with its id, it is kept (its kind when that fits) and
 * recorded as a conversation the run could not read, with the reason; without one, nothing names it.
 */
function toAdminStream(item: unknown): AdminStream | undefined {
  const parsed = adminStreamSchema.safeParse(item);
  if (parsed.success) return parsed.data;
  const { fields, where } = unfit(item, parsed.error);
  if (typeof fields.id !== "string" || !fields.id) return undefined;
  const groupChat = (fields.attributes as { groupChat?: unknown } | null | undefined)?.groupChat === true;
  return {
    id: fields.id,
    type: typeof fields.type === "string" ? fields.type : "",
    attributes: groupChat ? { groupChat } : {},
    invalid: `Symphony described this conversation in a way the connector cannot read (${where})`,
  };
}
/** `listed` counts the entries Symphony sent, kept or not: paging by skip goes by it. */
export const adminStreamListSchema = z
  .object({
    count: z.number().int().nonnegative(),
    skip: z.number().int().nullish(),
    limit: z.number().int().nullish(),
    streams: z.array(z.unknown()).nullish(),
  })
  .transform(({ streams, ...page }) => ({
    ...page,
    listed: streams?.length ?? 0,
    streams: (streams ?? []).flatMap((item) => toAdminStream(item) ?? []),
  }));

/**
 * pod: StreamList, the answer of POST /pod/v1/streams/list (the caller's own streams) and of POST
 * /pod/v1/admin/user/{uid}/streams/list (a user's, e.g. their wall)
 */
export const memberStreamListSchema = z.array(
  z.object({
    id: z.string().min(1),
    active: z.boolean().nullish(),
    streamType: z.object({ type: z.string() }).nullish(),
    streamAttributes: z.object({ members: z.array(z.number().int()).nullish() }).nullish(),
  }),
);

/** pod: V3RoomDetail, the answer of GET /pod/v3/room/{id}/info (the fields the connector reads) */
export const roomDetailSchema = z.object({
  roomAttributes: z
    .object({
      name: optionalText,
      /** "If true, this room is a group chat. ... Since SBE 20.16." */
      groupChat: z.boolean().nullish(),
    })
    .nullish(),
});
export type RoomDetail = z.infer<typeof roomDetailSchema>;

/** pod: V2MemberInfo, an item of GET /pod/v1/admin/stream/{sid}/membership/list */
const memberUserSchema = z.object({
  userId: z.number().int(),
  email: optionalText,
  firstName: optionalText,
  lastName: optionalText,
  displayName: optionalText,
  company: optionalText,
  companyId: z.number().int().nullish(),
  isExternal: z.boolean().nullish(),
});
export const streamMemberSchema = z.object({
  user: memberUserSchema,
  isOwner: z.boolean().nullish(),
  isCreator: z.boolean().nullish(),
  joinDate: epochMs.nullish(),
});
export type StreamMember = z.infer<typeof streamMemberSchema>;

/**
 * One member record that does not fit keeps what can be read of it, field by field, so that the member
 * still gets their copies (a strict list would stop the whole conversation on one record). A join date
 * that is not a time counts as none: present for every message (a copy too many rather than one lost);
 * an external flag that is not a boolean counts as external. Without a user id (a number, or its digits)
 * nothing maps the record to anyone, and it is left out.
 */
function toStreamMember(item: unknown): StreamMember | undefined {
  const parsed = streamMemberSchema.safeParse(item);
  if (parsed.success) return parsed.data;
  const fields = objectFields(item);
  const given = objectFields(fields.user);
  const user = Object.fromEntries(
    Object.entries(memberUserSchema.shape).map(([key, schema]) => [key, schema.safeParse(given[key]).data]),
  ) as Partial<StreamMember["user"]>;
  const userId =
    user.userId ??
    (typeof given.userId === "string" && /^\d{1,15}$/.test(given.userId) ? Number(given.userId) : undefined);
  if (userId === undefined) return undefined;
  const flag = (value: unknown) => z.boolean().safeParse(value).data;
  // An external flag sent but unreadable counts as external: such a person is never looked up as ours.
  const isExternal =
    user.isExternal ?? (given.isExternal === undefined || given.isExternal === null ? undefined : true);
  return {
    user: { ...user, userId, isExternal },
    isOwner: flag(fields.isOwner),
    isCreator: flag(fields.isCreator),
    joinDate: epochMs.safeParse(fields.joinDate).data ?? null,
  };
}

/** `listed` counts the records Symphony sent, kept or not: paging by skip goes by it. */
export const streamMemberListSchema = z
  .object({
    count: z.number().int().nonnegative(),
    skip: z.number().int().nullish(),
    limit: z.number().int().nullish(),
    members: z.array(z.unknown()).nullish(),
  })
  .transform(({ members, ...page }) => ({
    ...page,
    listed: members?.length ?? 0,
    members: (members ?? []).flatMap((item) => toStreamMember(item) ?? []),
  }));

/** agent: V4User, as messages and events carry it (sender, initiator, affectedUser); every field optional */
const v4UserSchema = z
  .object({
    userId: z.number().int().nullish(),
    firstName: optionalText,
    lastName: optionalText,
    displayName: optionalText,
    email: optionalText,
    username: optionalText,
  })
  .nullish();

/** agent: V4Stream as messages and events carry it */
const v4StreamSchema = z
  .object({
    streamId: optionalText,
    streamType: optionalText,
    roomName: optionalText,
    external: z.boolean().nullish(),
    crossPod: z.boolean().nullish(),
  })
  .nullish();

/**
 * agent: V4Message as a message's `sharedMessage` carries it: the wall post it shares (a Datahose
 * SHAREDPOST's `sharedMessage`, a shared post in a message list). Every field optional; its files are
 * only named, so only their names and sizes are read.
 */
const sharedMessageSchema = z.object({
  messageId: optionalText,
  timestamp: epochMs.nullish(),
  message: optionalText,
  data: optionalText,
  attachments: z.array(z.object({ name: optionalText, size: z.number().int().nonnegative().nullish() })).nullish(),
  user: v4UserSchema,
  /** Set instead of the content when the agent could not decrypt or parse the post. */
  diagnostic: optionalText,
});
/** The shared post as the client yields it; `unreadable` says why it did not fit, `raw` is it as sent. */
export type SharedMessage = z.infer<typeof sharedMessageSchema> & { unreadable?: string; raw?: string };

/**
 * A shared post that does not fit fails neither its message nor itself silently: the message is
 * archived, and the post is attached as Symphony sent it with the reason.
 */
function toSharedMessage(item: unknown): SharedMessage | undefined {
  if (item === undefined || item === null) return undefined;
  // As sent, for a post that is attached instead of shown (one that does not fit, or was not decrypted).
  const raw = asSent(item);
  const parsed = sharedMessageSchema.safeParse(item);
  if (parsed.success && raw !== undefined) return { ...parsed.data, raw };
  const fields = objectFields(item);
  const where = parsed.success ? "(root): nested too deeply to be kept as sent" : unfit(item, parsed.error).where;
  const user = v4UserSchema.safeParse(fields.user);
  return {
    messageId: typeof fields.messageId === "string" ? fields.messageId : undefined,
    timestamp: epochMs.safeParse(fields.timestamp).data,
    ...(user.success && { user: user.data }),
    unreadable: where,
    raw: raw ?? "",
  };
}

/**
 * JSON text of what Symphony sent; undefined for JSON nested deeper than JSON.stringify's stack, which
 * JSON.parse reads at any depth (a throw here would fail the whole page or batch, not the post).
 */
function asSent(item: unknown): string | undefined {
  try {
    return JSON.stringify(item);
  } catch {
    return undefined;
  }
}

/** agent: V4Message, an item of GET /agent/v4/stream/{sid}/message and of datafeed events; every field optional */
export const messageSchema = z.object({
  messageId: optionalText,
  timestamp: epochMs.nullish(),
  message: optionalText,
  data: optionalText,
  attachments: z
    .array(
      z.object({
        id: z.string().min(1),
        name: z.string(),
        size: z.number().int().nonnegative(),
        images: z.array(z.object({ id: z.string(), dimension: optionalText })).nullish(),
      }),
    )
    .nullish(),
  user: v4UserSchema,
  stream: v4StreamSchema,
  externalRecipients: z.boolean().nullish(),
  userAgent: optionalText,
  originalFormat: optionalText,
  sid: optionalText,
  parentMessageId: optionalText,
  initialTimestamp: epochMs.nullish(),
  initialMessageId: optionalText,
  replacing: optionalText,
  replacedBy: optionalText,
  /** Set instead of the content when the agent could not decrypt or parse the message. */
  diagnostic: optionalText,
  sharedMessage: z.unknown().transform(toSharedMessage).optional(),
});
/**
 * A message as the client yields it; `invalid` says why an item of the list did not fit V4Message at
 * all. `tooLarge` marks one whose answer alone was larger than the client reads (SymphonyClient.messages):
 * nothing of it is known but where it is, after the message `after` (the `nth` such in a row).
 */
export type SymphonyMessage = z.infer<typeof messageSchema> & {
  invalid?: string;
  tooLarge?: { after: string; nth: number };
};

/**
 * One item that does not fit the schema fails alone: it keeps its id, time, conversation and sender
 * when those fit, so that its failure is recorded where it belongs (a Datahose event names its
 * conversation nowhere else).
 */
function toMessage(item: unknown): SymphonyMessage {
  const parsed = messageSchema.safeParse(item);
  if (parsed.success) return parsed.data;
  const { fields, where } = unfit(item, parsed.error);
  const stream = v4StreamSchema.safeParse(fields.stream);
  const user = v4UserSchema.safeParse(fields.user);
  return {
    messageId: typeof fields.messageId === "string" && fields.messageId ? fields.messageId : undefined,
    timestamp: epochMs.safeParse(fields.timestamp).data,
    ...(stream.success && { stream: stream.data }),
    ...(user.success && { user: user.data }),
    invalid: `Symphony sent a message the connector cannot read (${where})`,
  };
}
export const messageListSchema = z.array(z.unknown()).transform((items) => items.map(toMessage));

/** agent: V5Datafeed */
export const datafeedSchema = z.object({
  id: z.string().min(1),
  createdAt: epochMs.optional(),
  type: z.string().optional(),
});
export const datafeedListSchema = z.array(datafeedSchema);
export type Datafeed = z.infer<typeof datafeedSchema>;

/** agent: V4Event; the message of a MESSAGESENT event is validated like any other message */
export const datafeedEventSchema = z.object({
  id: z.string().optional(),
  messageId: z.string().optional(),
  timestamp: epochMs.optional(),
  type: z.string(),
  initiator: z.object({ user: z.looseObject({}).optional() }).optional(),
  payload: z.looseObject({ messageSent: z.object({ message: messageSchema }).optional() }).optional(),
});
/** agent: V5EventList, the answer of POST /agent/v5/datafeeds/{id}/read */
export const datafeedReadSchema = z.object({
  events: z
    .array(datafeedEventSchema)
    .nullish()
    .transform((events) => events ?? []),
  ackId: z.string(),
});
export type DatafeedEvent = z.infer<typeof datafeedEventSchema>;
export type DatafeedRead = z.infer<typeof datafeedReadSchema>;

const roomMemberChangeSchema = z.object({ stream: v4StreamSchema, affectedUser: v4UserSchema }).nullish();

/**
 * agent: V4Event of the Datahose; every field optional as in the spec. The message of a MESSAGESENT
 * event is read like an item of a message list (a message that does not fit fails alone).
 */
export const datahoseEventSchema = z.object({
  id: optionalText,
  messageId: optionalText,
  timestamp: epochMs.nullish(),
  type: optionalText,
  diagnostic: optionalText,
  initiator: z.object({ user: v4UserSchema }).nullish(),
  payload: z
    .object({
      messageSent: z.object({ message: z.unknown().transform(toMessage) }).nullish(),
      /** V4SharedPost: the sharer's post, read with the post it shares as its `sharedMessage`. */
      sharedPost: z
        .object({ message: z.unknown(), sharedMessage: z.unknown() })
        .transform(({ message, sharedMessage }) => ({ message: toMessage(withShared(message, sharedMessage)) }))
        .nullish(),
      messageSuppressed: z.object({ messageId: optionalText, stream: v4StreamSchema }).nullish(),
      userJoinedRoom: roomMemberChangeSchema,
      userLeftRoom: roomMemberChangeSchema,
    })
    .nullish(),
});
/** An event as the client yields it; `invalid` says why it did not fit V4Event at all. */
export type DatahoseEvent = z.infer<typeof datahoseEventSchema> & { invalid?: string };

/**
 * An event that does not fit V4Event (its initiator, its time, another payload) keeps its message:
 * read on its own, it is archived, or fails alone with its reason, never dropped with the event.
 */
function toDatahoseEvent(item: unknown): DatahoseEvent {
  const parsed = datahoseEventSchema.safeParse(item);
  if (parsed.success) return parsed.data;
  const { fields, where } = unfit(item, parsed.error);
  const payload = objectOr(fields.payload);
  const messageSent = objectOr(payload?.messageSent);
  const sharedPost = objectOr(payload?.sharedPost);
  const message = messageSent?.message ?? (sharedPost && withShared(sharedPost.message, sharedPost.sharedMessage));
  const key = sharedPost && !messageSent ? "sharedPost" : "messageSent";
  return {
    id: typeof fields.id === "string" && fields.id ? fields.id : undefined,
    type: typeof fields.type === "string" ? fields.type : undefined,
    messageId: typeof fields.messageId === "string" && fields.messageId ? fields.messageId : undefined,
    timestamp: epochMs.safeParse(fields.timestamp).data,
    ...(message !== undefined && message !== null && { payload: { [key]: { message: toMessage(message) } } }),
    invalid: `Symphony sent an event the connector cannot read (${where})`,
  };
}

function objectOr(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : undefined;
}

/** A SHAREDPOST's message with the post it shares, which V4SharedPost gives beside it. */
function withShared(message: unknown, sharedMessage: unknown): unknown {
  const fields = objectOr(message);
  return fields && sharedMessage !== undefined && sharedMessage !== null ? { ...fields, sharedMessage } : message;
}

/** agent: V5EventList, the answer of POST /agent/v5/events/read; ackId absent: nothing to acknowledge */
export const datahoseReadSchema = z.object({
  events: z
    .array(z.unknown())
    .nullish()
    .transform((events) => (events ?? []).map(toDatahoseEvent)),
  ackId: z.string().nullish(),
});
export type DatahoseRead = z.infer<typeof datahoseReadSchema>;

/** Error body of every endpoint: V2Error / Error, and the Files API's `{"error": "..."}` */
export const errorBodySchema = z.object({
  code: z.number().optional(),
  message: z.string().optional(),
  error: z.string().optional().catch(undefined),
});
