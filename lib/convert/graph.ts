import type { EmailAddress, EmailModel } from "./types";

export interface GraphRecipient {
  emailAddress: { name: string; address: string };
}

export interface GraphExtendedProperty {
  id: string;
  value: string;
}

/** Body of Graph `POST /users/{id}/mailFolders/{folderId}/messages` (attachments are added afterwards). */
export interface GraphMessage {
  subject: string;
  body: { contentType: "html"; content: string };
  from: GraphRecipient;
  sender: GraphRecipient;
  toRecipients: GraphRecipient[];
  internetMessageId: string;
  isRead: true;
  singleValueExtendedProperties: GraphExtendedProperty[];
}

/** PR_MESSAGE_FLAGS = MSGFLAG_READ: a received, read item; without it Exchange keeps a draft. */
export const MESSAGE_FLAGS_PROPERTY = "Integer 0x0E07";
/** PR_MESSAGE_DELIVERY_TIME: the received time Outlook shows and sorts by. */
export const DELIVERY_TIME_PROPERTY = "SystemTime 0x0E06";
/** PR_CLIENT_SUBMIT_TIME: the sent time. */
export const SUBMIT_TIME_PROPERTY = "SystemTime 0x0039";

function recipient({ name, address }: EmailAddress): GraphRecipient {
  return { emailAddress: { name, address } };
}

/** The Graph JSON message for an email, without attachments and without the idempotency key. */
export function toGraphMessage(email: EmailModel): GraphMessage {
  const time = email.date.toISOString();
  return {
    subject: email.subject,
    body: { contentType: "html", content: email.html },
    from: recipient(email.from),
    sender: recipient(email.from),
    toRecipients: email.to.map(recipient),
    internetMessageId: email.messageId,
    isRead: true,
    singleValueExtendedProperties: [
      { id: MESSAGE_FLAGS_PROPERTY, value: "1" },
      { id: DELIVERY_TIME_PROPERTY, value: time },
      { id: SUBMIT_TIME_PROPERTY, value: time },
    ],
  };
}
