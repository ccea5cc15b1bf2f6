import { randomBytes } from "node:crypto";
import { z } from "zod";
import type { GraphCall, GraphRequest, GraphResponse } from "./graph-types";
import { graphError } from "./graph-types";
import { parseJsonBody } from "./graph-json";
import { newId, type Message, type Recipient, type User } from "./state";

// POST /users/{id | userPrincipalName}/sendMail (learn.microsoft.com/graph/api/user-sendmail): JSON
// message, 202 Accepted with no body, a copy in Sent Items unless saveToSentItems is false. App-only,
// it needs the Mail.Send application permission (the only one the page lists).

export const SEND_MAIL_ROLE = "Mail.Send";

const recipient = z.object({ emailAddress: z.object({ name: z.string().optional(), address: z.string().min(1) }) });

const sendMailSchema = z.strictObject({
  message: z.object({
    subject: z.string().optional(),
    body: z.object({ contentType: z.string().regex(/^(html|text)$/i), content: z.string() }).optional(),
    toRecipients: z.array(recipient).optional(),
    ccRecipients: z.array(recipient).optional(),
    bccRecipients: z.array(recipient).optional(),
    replyTo: z.array(recipient).optional(),
    importance: z
      .string()
      .regex(/^(low|normal|high)$/i)
      .optional(),
  }),
  saveToSentItems: z.boolean().optional(),
});

/**
 * Sends as `user`: each recipient that is a mailbox of the tenant (by address or alias) finds the
 * message in its Inbox; other recipients are outside the sandbox and get nothing visible.
 */
export function sendMail(call: GraphCall, req: GraphRequest, user: User): GraphResponse {
  if (!call.roles.includes(SEND_MAIL_ROLE)) {
    return graphError(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.", call);
  }
  const parsed = parseJsonBody(call, req, sendMailSchema);
  if (!parsed.ok) return parsed.response;
  const { message: input, saveToSentItems } = parsed.value;
  const to = input.toRecipients ?? [];
  const cc = input.ccRecipients ?? [];
  const bcc = input.bccRecipients ?? [];
  if (to.length + cc.length + bcc.length === 0) {
    return graphError(
      400,
      "ErrorInvalidRecipients",
      "At least one recipient isn't valid., A message can't be sent because it contains no recipients.",
      call,
    );
  }
  const { state } = call.ctx;
  const now = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
  const sender: Recipient = { emailAddress: { name: user.displayName, address: user.mail } };
  const internetMessageId = `<${randomBytes(12).toString("hex")}@sandbox.outlook.local>`;
  const copy = (owner: User, folder: "inbox" | "sentitems", withBcc: boolean): Message => ({
    id: newId(),
    userId: owner.id,
    parentFolderId: state.findFolder(owner.id, folder)!.id,
    createdDateTime: now,
    lastModifiedDateTime: now,
    receivedDateTime: now,
    sentDateTime: now,
    isDraft: false,
    isRead: folder === "sentitems",
    subject: input.subject ?? "",
    body: {
      contentType: input.body?.contentType.toLowerCase() === "html" ? "html" : "text",
      content: input.body?.content ?? "",
    },
    from: sender,
    sender,
    toRecipients: to,
    ccRecipients: cc,
    bccRecipients: withBcc ? bcc : [],
    replyTo: input.replyTo ?? [],
    internetMessageId,
    importance: (input.importance ?? "normal").toLowerCase(),
    conversationId: newId(),
    extendedProperties: [],
    attachments: [],
  });
  const recipients = new Map<string, User>();
  for (const { emailAddress } of [...to, ...cc, ...bcc]) {
    const found = mailboxOf(call, emailAddress.address);
    if (found) recipients.set(found.id, found);
  }
  for (const owner of recipients.values()) {
    const message = copy(owner, "inbox", false);
    state.messages.save(message);
  }
  if (saveToSentItems !== false) {
    const sent = copy(user, "sentitems", true);
    state.messages.save(sent);
  }
  return { status: 202, headers: {} };
}

function mailboxOf(call: GraphCall, address: string): User | undefined {
  const smtp = `smtp:${address.trim().toLowerCase()}`;
  for (const user of call.ctx.state.users.values()) {
    if (user.policy.mailboxEnabled && user.proxyAddresses.some((proxy) => proxy.toLowerCase() === smtp)) return user;
  }
  return undefined;
}
