import { GraphRequestError, M365AuthError } from "./errors";
import { createGraphTransport, errorOf, isSuccess, type GraphResponse } from "./graph";
import { parseM365Settings, type M365SettingsInput } from "./settings";
import { createTokenProvider } from "./token";

export type MailToSend = { from: string; to: string[]; subject: string; text: string };

/**
 * Sends a plain-text e-mail from a mailbox of the tenant: POST /users/{from}/sendMail, answered 202
 * Accepted with no body (learn.microsoft.com/graph/api/user-sendmail). App-only, it needs the Mail.Send
 * application permission with admin consent; the copy in Sent Items is not kept.
 */
export async function sendMail(settings: M365SettingsInput, mail: MailToSend): Promise<void> {
  const parsed = parseM365Settings(settings);
  const graph = createGraphTransport(parsed, createTokenProvider(parsed));
  const response = await graph({
    method: "POST",
    path: `/users/${encodeURIComponent(mail.from)}/sendMail`,
    body: {
      message: {
        subject: mail.subject,
        body: { contentType: "Text", content: mail.text },
        toRecipients: mail.to.map((address) => ({ emailAddress: { address } })),
      },
      saveToSentItems: false,
    },
  });
  if (!isSuccess(response.status)) throw sendMailError(response, mail.from);
}

function sendMailError(response: GraphResponse, from: string): Error {
  const { code, message } = errorOf(response);
  if (response.status === 403) {
    return new M365AuthError(
      "no-consent",
      `Microsoft 365 refused to send mail as ${from}: the app needs the Mail.Send application permission with ` +
        `admin consent, and an application access policy, if the tenant has one, must include this mailbox (Graph 403 ${code}).`,
    );
  }
  if (response.status === 404) {
    return new GraphRequestError(404, code, `${from} is not a mailbox of the tenant`);
  }
  return new GraphRequestError(response.status, code, message);
}
