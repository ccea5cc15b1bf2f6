// The sandbox's own admin API on the pod server (no token): add messages, revoke tokens, faults, stats.
import { randomUUID } from "node:crypto";
import type { ServerResponse } from "node:http";
import { z } from "zod";
import { sendJson } from "../http";
import { personById } from "../org";
import { body, fail, type Context, type Route } from "./context";
import { datahoseSettingsSchema, messageSentEvent, sharedPostEvent } from "./datahose";
import { faultsSchema } from "./faults";
import { currentMembers } from "./membership";
import { addedMessage, messageAt, messageIndex, v4User, type V4Message } from "./messages";

export const addMessageInput = z.object({
  streamId: z.string().min(1),
  /** Sender's user id; default: the first current member of the stream who is not the bot. */
  senderId: z.number().int().optional(),
  /** PresentationML; or `text`, which is escaped and wrapped. */
  message: z.string().optional(),
  text: z.string().optional(),
  data: z.record(z.string(), z.unknown()).optional(),
  /**
   * The time the pod stamps on it (epoch ms), as a pod node whose clock runs ahead (or behind) would;
   * by default now. Messages are listed in time order whatever order they were added in.
   */
  timestamp: z.number().int().positive().optional(),
  /** The agent cannot decrypt it: it is listed with this diagnostic instead of its content. */
  diagnostic: z.string().min(1).optional(),
  attachments: z
    .array(
      z.object({
        name: z.string().min(1),
        size: z
          .number()
          .int()
          .min(0)
          .max(200 * 1024 * 1024),
      }),
    )
    .optional(),
  /**
   * Shares a wall post (Share in Symphony): the message is a post on its sender's wall carrying the
   * shared post as `sharedMessage`, and the Datahose carries it as a SHAREDPOST event, not MESSAGESENT.
   */
  shares: z.object({ streamId: z.string().min(1), messageId: z.string().min(1) }).optional(),
});
export type AddMessageInput = z.input<typeof addMessageInput>;

/**
 * Adds a message to a stream and publishes it to the datafeeds when the bot is in the stream, and to
 * the Datahose whatever the stream (it carries every conversation of the pod).
 */
export function addMessage(ctx: Context, input: AddMessageInput): V4Message {
  const parsed = addMessageInput.parse(input);
  const stream = ctx.streamsById.get(parsed.streamId);
  if (!stream) throw new Error(`Stream ${parsed.streamId} not found`);
  // By default the first current member (someone who left a room posts no more) who is not the bot.
  const senderId =
    parsed.senderId ??
    currentMembers(ctx.org, stream).find((member) => member.person.id !== ctx.org.bot.id)?.person.id ??
    stream.memberIds.find((id) => id !== ctx.org.bot.id)!;
  if (!stream.memberIds.includes(senderId)) throw new Error(`User ${senderId} is not a member of stream ${stream.id}`);
  const sharedMessage = parsed.shares && sharedPost(ctx, stream, parsed.shares);
  const message = addedMessage(ctx.org, ctx.added, stream, {
    ...parsed,
    sender: personById(ctx.org, senderId)!,
    sharedMessage,
  });
  if (sharedMessage) {
    ctx.datahose.publish(sharedPostEvent(message, sharedMessage));
    return message;
  }
  if (stream.botIsMember) ctx.feeds.publish(message);
  ctx.datahose.publish(messageSentEvent(message));
  return message;
}

/**
 * The post a share carries. Symphony's real-time events page: a share's message is on the sharer's
 * wall ("the destination stream type will always be POST"), and the shared post is a wall post.
 */
function sharedPost(ctx: Context, wall: { type: string }, shares: { streamId: string; messageId: string }): V4Message {
  if (wall.type !== "POST") throw new Error("A shared post is posted on its sender's wall (a POST stream)");
  const source = ctx.streamsById.get(shares.streamId);
  if (source?.type !== "POST") throw new Error(`Stream ${shares.streamId} is not a wall`);
  const index = messageIndex(ctx.org, source.id, shares.messageId);
  const shared = index === null ? undefined : messageAt(ctx.org, ctx.added, source, index);
  if (!shared) throw new Error(`Message ${shares.messageId} not found in stream ${shares.streamId}`);
  return shared;
}

export const suppressInput = z.object({ streamId: z.string().min(1), messageId: z.string().min(1) });
export type SuppressInput = z.input<typeof suppressInput>;

/**
 * A compliance officer suppresses a message: a MESSAGESUPPRESSED event (V4MessageSuppressed
 * {messageId, stream}) goes to the Datahose. The stream's history is left as it is.
 */
export function suppressMessage(ctx: Context, input: SuppressInput): void {
  const { streamId, messageId } = suppressInput.parse(input);
  const stream = ctx.streamsById.get(streamId);
  if (!stream) throw new Error(`Stream ${streamId} not found`);
  const index = messageIndex(ctx.org, stream.id, messageId);
  const message = index === null ? undefined : messageAt(ctx.org, ctx.added, stream, index);
  if (!message) throw new Error(`Message ${messageId} not found in stream ${streamId}`);
  ctx.datahose.publish({
    id: randomUUID(),
    messageId,
    timestamp: ctx.now(),
    type: "MESSAGESUPPRESSED",
    initiator: { user: v4User(ctx.org.people[0]!) },
    payload: { messageSuppressed: { messageId, stream: message.stream } },
  });
}

export const roomMembershipInput = z.object({
  streamId: z.string().min(1),
  userId: z.number().int(),
  change: z.enum(["joined", "left"]),
});
export type RoomMembershipInput = z.input<typeof roomMembershipInput>;

/**
 * A USERJOINEDROOM or USERLEFTROOM event for the Datahose (V4UserJoinedRoom / V4UserLeftRoom
 * {stream, affectedUser}); the organisation's membership lists are not changed by it.
 */
export function roomMembershipEvent(ctx: Context, input: RoomMembershipInput): void {
  const { streamId, userId, change } = roomMembershipInput.parse(input);
  const stream = ctx.streamsById.get(streamId);
  if (!stream) throw new Error(`Stream ${streamId} not found`);
  const person = personById(ctx.org, userId);
  if (!person) throw new Error(`User ${userId} not found`);
  const v4Stream = {
    streamId: stream.id,
    streamType: stream.type,
    ...(stream.roomName ? { roomName: stream.roomName } : {}),
    external: stream.scope === "EXTERNAL",
  };
  const affected = { stream: v4Stream, affectedUser: v4User(person) };
  ctx.datahose.publish({
    id: randomUUID(),
    timestamp: ctx.now(),
    initiator: { user: v4User(person) },
    ...(change === "joined"
      ? { type: "USERJOINEDROOM" as const, payload: { userJoinedRoom: affected } }
      : { type: "USERLEFTROOM" as const, payload: { userLeftRoom: affected } }),
  });
}

export const streamFaultInput = z.object({
  streamId: z.string().min(1),
  /** What GET /agent/v4/stream/{sid}/message answers for this stream; null: back to normal. */
  status: z.union([z.literal(400), z.literal(403), z.literal(404), z.null()]),
});
export type StreamFaultInput = z.input<typeof streamFaultInput>;

/** Makes one stream's message history answer an error (the rest of the pod is unchanged). */
export function setStreamFault(ctx: Context, input: StreamFaultInput): void {
  const { streamId, status } = streamFaultInput.parse(input);
  if (!ctx.streamsById.has(streamId)) throw new Error(`Stream ${streamId} not found`);
  if (status === null) ctx.streamFaults.delete(streamId);
  else ctx.streamFaults.set(streamId, status);
}

/** Runs an admin action; what it refuses (an unknown stream, a sender not in it) is a 400 with its reason. */
function orBadRequest(res: ServerResponse, act: () => void): void {
  try {
    act();
  } catch (error) {
    fail(res, 400, (error as Error).message);
  }
}

export const adminRoutes: Route[] = [
  {
    method: "POST",
    path: "/sandbox/messages",
    auth: "none",
    async handle(ctx, req, res) {
      const input = await body(req, res, addMessageInput);
      if (input) orBadRequest(res, () => sendJson(res, 201, addMessage(ctx, input)));
    },
  },
  {
    method: "PUT",
    path: "/sandbox/stream-faults",
    auth: "none",
    async handle(ctx, req, res) {
      const input = await body(req, res, streamFaultInput);
      if (!input) return;
      orBadRequest(res, () => {
        setStreamFault(ctx, input);
        res.writeHead(204).end();
      });
    },
  },
  {
    method: "POST",
    path: "/sandbox/revoke-sessions",
    auth: "none",
    handle(ctx, _req, res) {
      ctx.tokens.revokeAll();
      res.writeHead(204).end();
    },
  },
  {
    method: "GET",
    path: "/sandbox/faults",
    auth: "none",
    handle: (ctx, _req, res) => sendJson(res, 200, ctx.faults.current()),
  },
  {
    method: "PUT",
    path: "/sandbox/faults",
    auth: "none",
    async handle(ctx, req, res) {
      const change = await body(req, res, faultsSchema.partial());
      if (change) sendJson(res, 200, ctx.faults.set(change));
    },
  },
  { method: "GET", path: "/sandbox/stats", auth: "none", handle: (ctx, _req, res) => sendJson(res, 200, ctx.stats) },
  {
    method: "GET",
    path: "/sandbox/datahose",
    auth: "none",
    handle: (ctx, _req, res) => sendJson(res, 200, { ...ctx.datahose.settings(), stats: ctx.datahose.stats }),
  },
  {
    method: "PUT",
    path: "/sandbox/datahose",
    auth: "none",
    async handle(ctx, req, res) {
      const change = await body(req, res, datahoseSettingsSchema.partial());
      if (change) sendJson(res, 200, ctx.datahose.set(change));
    },
  },
  {
    method: "POST",
    path: "/sandbox/suppress",
    auth: "none",
    async handle(ctx, req, res) {
      const input = await body(req, res, suppressInput);
      if (input)
        orBadRequest(res, () => {
          suppressMessage(ctx, input);
          res.writeHead(204).end();
        });
    },
  },
  {
    method: "POST",
    path: "/sandbox/room-membership",
    auth: "none",
    async handle(ctx, req, res) {
      const input = await body(req, res, roomMembershipInput);
      if (input)
        orBadRequest(res, () => {
          roomMembershipEvent(ctx, input);
          res.writeHead(204).end();
        });
    },
  },
];
