// Agent endpoints: messages of a stream, attachment download, datafeed v2.
import type { ServerResponse } from "node:http";
import { pipeline } from "node:stream/promises";
import { z } from "zod";
import { sendJson } from "../http";
import { attachmentBase64 } from "./attachments";
import { body, fail, paging, query, route, type Context, type Route } from "./context";
import { readBodySchema, UnknownAckIdError } from "./datahose";
import { botCanDownloadAttachments, botCanRead } from "./membership";
import { listMessages, messageAt, messageIndex, onTheWire } from "./messages";

const messagesQuery = z.object({ since: z.coerce.number().int().min(0), ...paging(500, 50) });
const attachmentQuery = z.object({ fileId: z.string().min(1), messageId: z.string().min(1) });
const readBody = z.object({ ackId: z.string().default("") }).default({ ackId: "" });

/**
 * The agent decrypts only what its caller is a member of: 403 (agent-api-public.yaml: "Forbidden:
 * Caller lacks necessary entitlement"); the wording of the message is not public.
 */
function notAMember(ctx: Context, res: ServerResponse, streamId: string): void {
  fail(res, 403, `User ${ctx.org.bot.id} is not a member of stream ${streamId}`);
}

/**
 * The download "produces application/octet-stream" (agent-api-public.yaml), so a server that
 * negotiates content answers 406 to an Accept header that allows only something else.
 */
function acceptsOctetStream(accept: string | undefined): boolean {
  if (!accept) return true;
  return accept
    .split(",")
    .map((range) => range.split(";")[0]!.trim().toLowerCase())
    .some((type) => type === "application/octet-stream" || type === "application/*" || type === "*/*");
}

export const agentRoutes: Route[] = [
  // AgentInfo. Clients read `version` to tell whether the agent takes simplified key delivery (24.12+).
  {
    method: "GET",
    path: "/agent/v1/info",
    auth: "none",
    handle: (ctx, _req, res) =>
      sendJson(res, 200, {
        ipAddress: "127.0.0.1",
        hostname: "agent.sandbox",
        serverFqdn: "agent.sandbox",
        version: `Agent-${ctx.keyDelivery.agentVersion}-815-Linux-6.1.0-sandbox.x86_64`,
        url: "https://agent.sandbox/agent",
        onPrem: true,
        mt: false,
        commitId: "0000000",
      }),
  },
  route({
    method: "GET",
    path: "/agent/v4/stream/{sid}/message",
    auth: "session+km",
    handle(ctx, _req, res, url, params) {
      const stream = ctx.streamsById.get(params.sid);
      if (!stream) return fail(res, 404, `Stream ${params.sid} not found`);
      const fault = ctx.streamFaults.get(stream.id);
      if (fault) return fail(res, fault, `Stream ${stream.id} cannot be read (fault injected: ${fault})`);
      if (!botCanRead(stream)) return notAMember(ctx, res, stream.id);
      const q = query(res, url, messagesQuery);
      if (!q) return;
      const page = listMessages(ctx.org, ctx.added, stream, q.since, q.skip, q.limit);
      // Symphony answers 204 with no body when there is nothing to return.
      if (page.length === 0) return void res.writeHead(204).end();
      sendJson(res, 200, page.map(onTheWire));
    },
  }),
  route({
    method: "GET",
    path: "/agent/v1/stream/{sid}/attachment",
    auth: "session+km",
    async handle(ctx, req, res, url, params) {
      if (!acceptsOctetStream(req.headers.accept))
        return fail(res, 406, "Not Acceptable: this endpoint produces application/octet-stream");
      const stream = ctx.streamsById.get(params.sid);
      if (!stream) return fail(res, 404, `Stream ${params.sid} not found`);
      if (!botCanDownloadAttachments(stream, ctx.botIsContentExportUser)) return notAMember(ctx, res, stream.id);
      const q = query(res, url, attachmentQuery);
      if (!q) return;
      const index = messageIndex(ctx.org, stream.id, q.messageId);
      const message = index === null ? undefined : messageAt(ctx.org, ctx.added, stream, index);
      if (!message) return fail(res, 404, `Message ${q.messageId} not found in stream ${stream.id}`);
      const attachment = message.attachments.find((a) => a.id === q.fileId);
      if (!attachment) return fail(res, 404, `Attachment ${q.fileId} not found in message ${q.messageId}`);
      res.writeHead(200, {
        "content-type": "application/octet-stream",
        "content-length": String(4 * Math.ceil(attachment.size / 3)),
      });
      await pipeline(attachmentBase64(ctx.org.seed, attachment), res);
    },
  }),
  {
    method: "POST",
    path: "/agent/v5/datafeeds",
    auth: "session+km",
    async handle(ctx, req, res) {
      if ((await body(req, res, z.object({ tag: z.string().max(100).optional() }).optional())) === null) return;
      sendJson(res, 201, ctx.feeds.create());
    },
  },
  {
    method: "GET",
    path: "/agent/v5/datafeeds",
    auth: "session+km",
    handle: (ctx, _req, res) => sendJson(res, 200, ctx.feeds.list()),
  },
  route({
    method: "DELETE",
    path: "/agent/v5/datafeeds/{id}",
    auth: "session+km",
    handle(ctx, _req, res, _url, params) {
      if (!ctx.feeds.remove(params.id)) return fail(res, 400, `Datafeed ${params.id} not found`);
      res.writeHead(200).end();
    },
  }),
  route({
    method: "POST",
    path: "/agent/v5/datafeeds/{id}/read",
    auth: "session+km",
    async handle(ctx, req, res, _url, params) {
      const input = await body(req, res, readBody);
      if (!input) return;
      const aborted = new AbortController();
      res.on("close", () => aborted.abort());
      const result = await ctx.feeds.read(params.id, input.ackId, aborted.signal);
      if (!result) return fail(res, 400, `Datafeed ${params.id} not found`);
      if (!res.destroyed) sendJson(res, 200, result);
    },
  }),
  // Datahose (agent-api-public.yaml readEvents): every conversation of the pod, for a pod with the add-on.
  {
    method: "POST",
    path: "/agent/v5/events/read",
    auth: "session+km",
    async handle(ctx, req, res) {
      if (!ctx.datahose.settings().entitled)
        return fail(res, 403, "Datahose is not enabled for this pod (a separately contracted add-on)");
      const input = await body(req, res, readBodySchema);
      if (!input) return;
      const aborted = new AbortController();
      res.on("close", () => aborted.abort());
      const result = await ctx.datahose.read(input, aborted.signal).catch((error: unknown) => {
        if (error instanceof UnknownAckIdError) return undefined;
        throw error;
      });
      if (!result) return fail(res, 400, new UnknownAckIdError().message);
      if (!res.destroyed) sendJson(res, 200, result);
    },
  },
];
