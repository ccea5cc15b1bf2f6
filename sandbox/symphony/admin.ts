// The sandbox's own admin API on the pod server (no token): add messages, revoke tokens, faults, stats.
import type { ServerResponse } from "node:http";
import { z } from "zod";
import { sendJson } from "../http";
import { personById } from "../org";
import { body, fail, type Context, type Route } from "./context";
import { faultsSchema } from "./faults";
import { currentMembers } from "./membership";
import { addedMessage, type V4Message } from "./messages";

export const addMessageInput = z.object({
  streamId: z.string().min(1),
  /** Sender's user id; default: the first current member of the stream who is not the bot. */
  senderId: z.number().int().optional(),
  /** PresentationML; or `text`, which is escaped and wrapped. */
  message: z.string().optional(),
  text: z.string().optional(),
  data: z.record(z.string(), z.unknown()).optional(),
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
});
export type AddMessageInput = z.input<typeof addMessageInput>;

/** Adds a message to a stream and publishes it to the datafeeds when the bot is in the stream. */
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
  const message = addedMessage(ctx.org, ctx.added, stream, { ...parsed, sender: personById(ctx.org, senderId)! });
  if (stream.botIsMember && message.diagnostic === undefined) ctx.feeds.publish(message);
  return message;
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
];
