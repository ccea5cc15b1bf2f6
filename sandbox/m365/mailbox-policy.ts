import type { GraphCall, GraphRequest, GraphResponse } from "./graph-types";
import { graphError, ok } from "./graph-types";
import { parseJsonBody } from "./graph-json";
import { z } from "zod";
import type { Message, User } from "./state";

// What Exchange Online answers for mailboxes that are not plain, reachable, roomy mailboxes. Each
// answer follows Microsoft's docs or observed Graph answers; sandbox/m365/README.md cites them.

// Microsoft's documented answer (auth-limit-mailbox-access, "Handling API errors"); tenants have also
// been seen adding ": [RAOP] : Blocked by tenant configured AppOnly AccessPolicy settings."
const ACCESS_POLICY_MESSAGE = "Access to OData is disabled.";

/**
 * The refusal of a mail call to `user`, or null: no mailbox (404 MailboxNotEnabledForRESTAPI or
 * ResourceNotFound, or MailboxNotSupportedForRESTAPI for one on a dedicated Exchange Server),
 * outside the app's access policy (403 ErrorAccessDenied "Access to OData is disabled."), or a create in a
 * full mailbox.
 */
export function mailboxRefusal(call: GraphCall, req: GraphRequest, user: User): GraphResponse | null {
  if (!user.policy.mailboxEnabled) {
    return user.policy.noMailboxAnswer === "ResourceNotFound"
      ? graphError(404, "ResourceNotFound", "Resource could not be discovered.", call)
      : graphError(404, "MailboxNotEnabledForRESTAPI", "REST API is not yet supported for this mailbox.", call);
  }
  if (user.policy.onDedicatedExchange) {
    return graphError(404, "MailboxNotSupportedForRESTAPI", "REST API is not yet supported for this mailbox.", call);
  }
  if (user.policy.appAccessBlocked) return graphError(403, "ErrorAccessDenied", ACCESS_POLICY_MESSAGE, call);
  if (user.policy.full && req.method === "POST" && !/getmailtips$/i.test(req.path)) {
    if (user.policy.fullAnswer === "QuotaExceededException")
      return graphError(507, "QuotaExceededException", "Target mailbox quota exceeded.", call);
    return graphError(
      403,
      "ErrorQuotaExceeded",
      "The mailbox has exceeded its quota: the operation cannot be completed.",
      call,
    );
  }
  return null;
}

/** Bytes a file takes in the message's MIME (base64: 4 bytes per 3). */
export function encodedSize(bytes: number): number {
  return Math.ceil(bytes / 3) * 4;
}

/** The message's size as Exchange counts it against MaxReceiveSize: body plus encoded attachments. */
export function messageSize(message: Message): number {
  return (
    Buffer.byteLength(message.subject) +
    Buffer.byteLength(message.body.content) +
    message.attachments.reduce((sum, a) => sum + encodedSize(a.size), 0)
  );
}

/** ErrorMessageSizeExceeded when `size` bytes exceed the mailbox's MaxReceiveSize. */
export function sizeRefusal(call: GraphCall, user: User, size: number): GraphResponse | null {
  if (size <= user.policy.maxReceiveSize) return null;
  return graphError(413, "ErrorMessageSizeExceeded", "The message exceeds the maximum supported size.", call);
}

const mailTipsSchema = z.object({ EmailAddresses: z.array(z.string()).min(1), MailTipsOptions: z.string() });

/** POST /users/{id}/getMailTips: only the maxMessageSize tip (the recipient's MaxReceiveSize in bytes). */
export function getMailTips(call: GraphCall, req: GraphRequest): GraphResponse {
  const parsed = parseJsonBody(call, req, mailTipsSchema);
  if (!parsed.ok) return parsed.response;
  const wanted = parsed.value.MailTipsOptions.split(",").map((o) => o.trim().toLowerCase());
  return ok({
    value: parsed.value.EmailAddresses.map((address) => {
      const recipient = call.ctx.state.findUser(address);
      return {
        emailAddress: { name: "", address },
        ...(wanted.includes("maxmessagesize") && recipient ? { maxMessageSize: recipient.policy.maxReceiveSize } : {}),
        ...(recipient ? {} : { error: { code: "ErrorInvalidRecipients", message: "The recipient is invalid." } }),
      };
    }),
  });
}
