import { setTimeout as sleep } from "node:timers/promises";
import type { GraphCall, GraphRequest, GraphResponse } from "./graph-types";
import { graphError } from "./graph-types";
import { getUser, listUsers } from "./graph-users";
import { createFolder, folderNotFound, getFolder, listFolders } from "./graph-folders";
import { deleteMessage, getMessage, listMessages } from "./graph-messages";
import { createMessageWithFaults } from "./lost-creates";
import { addAttachment, createUploadSession, getAttachment, listAttachments } from "./graph-attachments";
import { getMailTips, mailboxRefusal } from "./mailbox-policy";
import { sendMail } from "./graph-sendmail";
import type { Throttle } from "./throttle";
import type { Folder, User } from "./state";

const WRITE_METHODS = new Set(["POST", "PUT", "PATCH"]);

/** Graph's refusal of a mail call without the permission for that mailbox; it names neither. */
const ACCESS_DENIED = "Access is denied. Check credentials and try again.";

/**
 * One Graph request (top-level or inside $batch), after authentication: consent check, Outlook
 * throttling per app per mailbox, injected faults, then the resource handler.
 */
export async function handleGraphRequest(
  call: GraphCall,
  throttle: Throttle,
  req: GraphRequest,
  consented: boolean,
): Promise<GraphResponse> {
  const { state } = call.ctx;
  state.stats.graphRequests += 1;
  state.landLateMessages();
  const [collection, userId, resource, ...rest] = req.path.split("/").filter(Boolean).map(safeDecode);
  if (collection?.toLowerCase() !== "users") {
    return graphError(400, "BadRequest", `Resource not found for the segment '${collection ?? ""}'.`, call);
  }
  // sendMail needs Mail.Send alone (it checks the token's roles itself); every other call the import's roles.
  const sendsMail = req.method === "POST" && resource?.toLowerCase() === "sendmail" && rest.length === 0;
  // With RBAC for Applications, Exchange grants mail access in its own scope, whatever Entra granted.
  const rbac = state.options.rbacMailRole && call.appId === state.options.app.clientId;
  // The directory (users) needs User.Read.All; mail needs Mail.ReadWrite, from Entra or from Exchange.
  if (resource === undefined && !call.roles.includes("User.Read.All"))
    return graphError(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.", call);
  if (resource !== undefined && !consented && !sendsMail && !rbac)
    return graphError(403, "ErrorAccessDenied", ACCESS_DENIED, call);
  if (userId === undefined) return req.method === "GET" ? listUsers(call, req) : methodNotAllowed(call, req);
  const user = state.findUser(userId);
  if (resource === undefined) return req.method === "GET" ? getUser(call, req, userId) : methodNotAllowed(call, req);
  if (!user) return graphError(404, "ErrorInvalidUser", `The requested user '${userId}' is invalid.`, call);
  if (!call.roles.includes("Mail.ReadWrite") && !sendsMail && user.policy.outsideRbacScope)
    return graphError(403, "ErrorAccessDenied", ACCESS_DENIED, call);

  const decision = throttle.acquire(call.appId, user.id, WRITE_METHODS.has(req.method) ? req.bodySize : 0);
  if (!decision.ok) {
    state.stats.throttled[decision.reason] += 1;
    return graphError(429, "ApplicationThrottled", decision.message, call, {
      "Retry-After": String(decision.retryAfterSeconds),
    });
  }
  try {
    const { latencyMs, serviceUnavailableShare, retryAfterSeconds } = state.faults;
    if (latencyMs > 0) await sleep(latencyMs);
    if (serviceUnavailableShare > 0 && Math.random() < serviceUnavailableShare) {
      state.stats.serviceUnavailable += 1;
      return graphError(
        503,
        "ServiceNotAvailable",
        "The service is temporarily unavailable. Retry after the time in Retry-After.",
        call,
        { "Retry-After": String(retryAfterSeconds) },
      );
    }
    return mailboxRefusal(call, req, user) ?? mailboxRoute(call, req, user, resource, rest);
  } finally {
    decision.release();
  }
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function methodNotAllowed(call: GraphCall, req: GraphRequest): GraphResponse {
  return graphError(
    405,
    "Request_BadRequest",
    `The HTTP method '${req.method}' is not allowed for the requested resource.`,
    call,
  );
}

/** /users/{id}/{resource}/{...rest} */
function mailboxRoute(call: GraphCall, req: GraphRequest, user: User, resource: string, rest: string[]): GraphResponse {
  const name = resource.toLowerCase();
  if (name === "messages") return messagesRoute(call, req, user, null, rest);
  if (name === "sendmail" && rest.length === 0)
    return req.method === "POST" ? sendMail(call, req, user) : methodNotAllowed(call, req);
  if (name === "getmailtips" && rest.length === 0)
    return req.method === "POST" ? getMailTips(call, req) : methodNotAllowed(call, req);
  if (name !== "mailfolders")
    return graphError(400, "BadRequest", `Resource not found for the segment '${resource}'.`, call);
  const [folderId, child, ...more] = rest;
  if (folderId === undefined) {
    if (req.method === "GET") return listFolders(call, req, user, null);
    if (req.method === "POST") return createFolder(call, req, user, null);
    return methodNotAllowed(call, req);
  }
  const folder = call.ctx.state.findFolder(user.id, folderId);
  if (!folder) return folderNotFound(call);
  if (child === undefined) return req.method === "GET" ? getFolder(call, req, folder) : methodNotAllowed(call, req);
  if (child.toLowerCase() === "childfolders" && more.length === 0) {
    if (req.method === "GET") return listFolders(call, req, user, folder);
    if (req.method === "POST") return createFolder(call, req, user, folder);
    return methodNotAllowed(call, req);
  }
  if (child.toLowerCase() === "messages") return messagesRoute(call, req, user, folder, more);
  return graphError(400, "BadRequest", `Resource not found for the segment '${child}'.`, call);
}

function messagesRoute(
  call: GraphCall,
  req: GraphRequest,
  user: User,
  folder: Folder | null,
  rest: string[],
): GraphResponse {
  const { state } = call.ctx;
  const [messageId, ...more] = rest;
  if (messageId === undefined) {
    if (req.method === "GET") return listMessages(call, req, user, folder);
    if (req.method === "POST")
      return createMessageWithFaults(call, req, user, folder ?? state.findFolder(user.id, "drafts")!);
    return methodNotAllowed(call, req);
  }
  const message = state.messages.get(messageId);
  if (!message || message.userId !== user.id || (folder && message.parentFolderId !== folder.id)) {
    return graphError(404, "ErrorItemNotFound", "The specified object was not found in the store.", call);
  }
  const [sub, attachmentId, value] = more.map((s, i) => (i === 0 ? s.toLowerCase() : s));
  if (sub === undefined) {
    if (req.method === "GET") return getMessage(call, req, message);
    if (req.method === "DELETE") return deleteMessage(call, message);
    return methodNotAllowed(call, req);
  }
  if (sub !== "attachments") return graphError(400, "BadRequest", `Resource not found for the segment '${sub}'.`, call);
  if (attachmentId === undefined) {
    if (req.method === "GET") return listAttachments(call, message);
    if (req.method === "POST") return addAttachment(call, req, message);
    return methodNotAllowed(call, req);
  }
  if (attachmentId.toLowerCase() === "createuploadsession" && value === undefined) {
    return req.method === "POST" ? createUploadSession(call, req, message) : methodNotAllowed(call, req);
  }
  if (req.method !== "GET") return methodNotAllowed(call, req);
  if (value !== undefined && value !== "$value")
    return graphError(400, "BadRequest", `Resource not found for the segment '${value}'.`, call);
  return getAttachment(call, message, attachmentId, value === "$value");
}
