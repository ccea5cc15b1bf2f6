export type ExportFormat = "ACTIANCE" | "EML";

export type ExportParticipant = { loginName: string; email?: string; displayName?: string; internal: boolean };

export type ConversationType = "IM" | "MIM" | "ROOM";

export type ExportAttachment = { name: string; zipPath: string; size: number };

/** One message (or one file transfer) of an Actiance file. */
export type ExportChatItem = {
  kind: "chat";
  /** The Symphony message id when the file has one, else a stable hash (see messageKey). */
  key: string;
  messageId?: string;
  conversationId: string;
  conversationName?: string;
  conversationType: ConversationType;
  sentAt: Date;
  sender: ExportParticipant;
  /** Everyone present in the conversation at sentAt, and the sender. */
  recipients: ExportParticipant[];
  content: string;
  attachments: ExportAttachment[];
  /** On the edited version: the key of the message it replaces. */
  editOf?: string;
  editedAt?: Date;
};

/** One .eml entry (a conversation's transcript for the period); its bytes: openAttachment(entryName). */
export type ExportEmlItem = {
  kind: "eml";
  /** Message-ID when present, else "ce-" + the SHA-256 of the entry's bytes. */
  key: string;
  entryName: string;
  conversationId?: string;
  sentAt: Date;
  sender?: ExportParticipant;
  /** From, To and Cc, deduplicated by address. */
  recipients: ExportParticipant[];
  size: number;
  subject?: string;
};

export type ExportItem = ExportChatItem | ExportEmlItem;
