import fs from "node:fs";
import path from "node:path";
import { randomBytes, randomUUID } from "node:crypto";
import type { Faults, Limits, MailboxPolicy, ParsedMailbox as Mailbox, ParsedOptions, SignInUser } from "./options";
import { faultsSchema, limitsSchema } from "./options";
import { MessageStore, type MessageSummary } from "./message-store";

export type User = {
  id: string;
  displayName: string;
  mail: string;
  userPrincipalName: string;
  proxyAddresses: string[];
  /** What Exchange does with this user's mailbox (see MailboxPolicy in options.ts). */
  policy: MailboxPolicy;
};

export type Folder = {
  id: string;
  userId: string;
  displayName: string;
  parentFolderId: string;
  wellKnownName?: string;
};

export type Recipient = { emailAddress: { name?: string; address?: string } };
export type ExtendedProperty = { id: string; value: string };

export type Attachment = {
  id: string;
  name: string;
  contentType: string;
  size: number;
  isInline: boolean;
  contentId: string | null;
  lastModifiedDateTime: string;
  file: string;
};

export type Message = {
  id: string;
  userId: string;
  parentFolderId: string;
  createdDateTime: string;
  lastModifiedDateTime: string;
  receivedDateTime: string;
  sentDateTime: string;
  isDraft: boolean;
  isRead: boolean;
  subject: string;
  body: { contentType: "html" | "text"; content: string };
  from: Recipient | null;
  sender: Recipient | null;
  toRecipients: Recipient[];
  ccRecipients: Recipient[];
  bccRecipients: Recipient[];
  replyTo: Recipient[];
  internetMessageId: string;
  importance: string;
  conversationId: string;
  extendedProperties: ExtendedProperty[];
  /** Custom `x-` headers given on create; returned only with `$select=internetMessageHeaders`. */
  internetMessageHeaders?: Array<{ name: string; value: string }>;
  attachments: Attachment[];
};

export type UploadSession = {
  id: string;
  token: string;
  appId: string;
  userId: string;
  messageId: string;
  name: string;
  contentType: string;
  size: number;
  isInline: boolean;
  contentId: string | null;
  received: number;
  expiresAt: number;
  file: string;
};

export type AuthorizationCode = {
  clientId: string;
  redirectUri: string;
  user: SignInUser;
  nonce?: string;
  scope: string;
  codeChallenge?: string;
  codeChallengeMethod?: string;
  expiresAt: number;
};

export type Stats = {
  /** HTTP requests to Graph (a $batch is one). */
  httpRequests: number;
  /** Graph requests, each sub-request of a $batch counted. */
  graphRequests: number;
  throttled: { concurrency: number; requests: number; upload: number };
  serviceUnavailable: number;
  tokensIssued: number;
  /** Message creates answered 504 although the item was created (faults.lostCreateShare). */
  lostCreates: number;
};

export type State = ReturnType<typeof createState>;

export function createState(options: ParsedOptions, dataDir: string) {
  fs.mkdirSync(dataDir, { recursive: true });
  const users = new Map<string, User>();
  const folders = new Map<string, Folder>();
  const messages = new MessageStore(path.join(dataDir, "messages.json-records"));
  const uploadSessions = new Map<string, UploadSession>();
  const codes = new Map<string, AuthorizationCode>();
  const consent = new Map<string, boolean>([[options.tenantId, options.consented]]);
  /** When each tenant's current consent was given (ms); a consent given at start counts from long ago. */
  const consentGivenAt = new Map<string, number>([[options.tenantId, 0]]);
  /** Items created by a create whose answer was lost, not yet visible, by request fingerprint. */
  const lateMessages = new Map<string, { message: Message; landsAt: number }>();
  /** Fingerprints of creates lost once: their retries are answered normally. */
  const lostOnce = new Set<string>();
  const stats: Stats = emptyStats();
  let limits: Limits = limitsSchema.parse(options.limits);
  let faults: Faults = faultsSchema.parse(options.faults);

  for (const mailbox of options.mailboxes) addMailbox(mailbox);

  function addMailbox(mailbox: Mailbox): User {
    const address = mailbox.address.toLowerCase();
    const user: User = {
      id: randomUUID(),
      displayName: mailbox.displayName,
      mail: address,
      userPrincipalName: address,
      proxyAddresses: [`SMTP:${address}`, ...mailbox.aliases.map((a) => `smtp:${a.toLowerCase()}`)],
      policy: {
        mailboxEnabled: mailbox.mailboxEnabled,
        noMailboxAnswer: mailbox.noMailboxAnswer,
        onDedicatedExchange: mailbox.onDedicatedExchange,
        appAccessBlocked: mailbox.appAccessBlocked,
        outsideRbacScope: mailbox.outsideRbacScope,
        full: mailbox.full,
        fullAnswer: mailbox.fullAnswer,
        maxReceiveSize: mailbox.maxReceiveSize,
      },
    };
    users.set(user.id, user);
    createWellKnownFolders(user.id);
    return user;
  }

  function createWellKnownFolders(userId: string): void {
    const root = newId();
    for (const [wellKnownName, displayName] of WELL_KNOWN_FOLDERS) {
      const folder: Folder = { id: newId(), userId, displayName, parentFolderId: root, wellKnownName };
      folders.set(folder.id, folder);
    }
  }

  /** A user by object id, userPrincipalName or any SMTP address (as Graph resolves /users/{id}). */
  function findUser(idOrAddress: string): User | undefined {
    const byId = users.get(idOrAddress.toLowerCase());
    if (byId) return byId;
    const address = idOrAddress.toLowerCase();
    for (const user of users.values()) {
      if (user.userPrincipalName === address) return user;
    }
    return undefined;
  }

  function findFolder(userId: string, idOrWellKnownName: string): Folder | undefined {
    const byId = folders.get(idOrWellKnownName);
    if (byId) return byId.userId === userId ? byId : undefined;
    const name = idOrWellKnownName.toLowerCase();
    for (const folder of folders.values()) {
      if (folder.userId === userId && folder.wellKnownName === name) return folder;
    }
    return undefined;
  }

  function childFolders(parentId: string): Folder[] {
    return [...folders.values()].filter((f) => f.parentFolderId === parentId);
  }

  function folderMessages(folderId: string): MessageSummary[] {
    const userId = folders.get(folderId)?.userId;
    return userId === undefined ? [] : messages.summariesOfUser(userId).filter((m) => m.parentFolderId === folderId);
  }

  function attachmentFile(): string {
    return path.join(dataDir, `${randomBytes(16).toString("hex")}.bin`);
  }

  /** Consent given (recorded with its time when it was not given before) or withdrawn. */
  function setConsent(tenantId: string, consented: boolean): void {
    if (consented && consent.get(tenantId) !== true) consentGivenAt.set(tenantId, Date.now());
    consent.set(tenantId, consented);
  }

  /** Whether a token issued now carries the consented roles: consent given, and its delay passed. */
  function consentEffective(tenantId: string): boolean {
    if (consent.get(tenantId) !== true) return false;
    return Date.now() >= (consentGivenAt.get(tenantId) ?? 0) + faults.consentDelaySeconds * 1000;
  }

  /** Hides a just-created item whose create answer is lost; it lands later (see landLateMessages). */
  function holdLateMessage(fingerprint: string, id: string): void {
    const message = messages.get(id);
    if (!message) return;
    messages.delete(id);
    lostOnce.add(fingerprint);
    lateMessages.set(fingerprint, { message, landsAt: Date.now() + faults.lostCreateLandsAfterMs });
    stats.lostCreates += 1;
  }

  /** Whether a create with this fingerprint was already lost once. */
  function lostBefore(fingerprint: string): boolean {
    return lostOnce.has(fingerprint);
  }

  /** Whether any create was ever lost (and so may still land, or be met again by its retry). */
  function anyLost(): boolean {
    return lostOnce.size > 0;
  }

  /** Makes visible the late items that are due, and the one a retry with `fingerprint` meets. */
  function landLateMessages(fingerprint?: string): void {
    const now = Date.now();
    for (const [key, late] of lateMessages) {
      if (key !== fingerprint && late.landsAt > now) continue;
      lateMessages.delete(key);
      messages.save(late.message);
    }
  }

  function deleteMessage(id: string): void {
    const message = messages.get(id);
    for (const attachment of message?.attachments ?? []) fs.rmSync(attachment.file, { force: true });
    messages.delete(id);
  }

  /** Drops every item, folder and session (attachment files too); keeps mailboxes and consent. */
  function reset(): void {
    for (const message of messages.values()) {
      for (const attachment of message.attachments) fs.rmSync(attachment.file, { force: true });
    }
    for (const session of uploadSessions.values()) fs.rmSync(session.file, { force: true });
    for (const { message } of lateMessages.values()) {
      for (const attachment of message.attachments) fs.rmSync(attachment.file, { force: true });
    }
    lateMessages.clear();
    lostOnce.clear();
    messages.clear();
    uploadSessions.clear();
    folders.clear();
    codes.clear();
    for (const user of users.values()) createWellKnownFolders(user.id);
    Object.assign(stats, emptyStats());
  }

  return {
    options,
    dataDir,
    users,
    folders,
    messages,
    uploadSessions,
    codes,
    consent,
    stats,
    get limits() {
      return limits;
    },
    set limits(next: Limits) {
      limits = next;
    },
    get faults() {
      return faults;
    },
    set faults(next: Faults) {
      faults = next;
    },
    addMailbox,
    findUser,
    findFolder,
    childFolders,
    folderMessages,
    attachmentFile,
    deleteMessage,
    setConsent,
    consentEffective,
    holdLateMessage,
    lostBefore,
    anyLost,
    landLateMessages,
    reset,
  };
}

const WELL_KNOWN_FOLDERS: [string, string][] = [
  ["inbox", "Inbox"],
  ["drafts", "Drafts"],
  ["sentitems", "Sent Items"],
  ["deleteditems", "Deleted Items"],
  ["archive", "Archive"],
];

const ID_RANDOM_BYTES = 33;
/** Random bytes drawn 512 ids at a time: one draw per id was a visible share of the sandbox's CPU. */
let idPool = Buffer.alloc(0);
let idPoolUsed = 0;

/** Exchange-looking opaque ids (base64 with padding, so clients must URL-encode them). */
export function newId(): string {
  if (idPoolUsed + ID_RANDOM_BYTES > idPool.length) {
    idPool = randomBytes(ID_RANDOM_BYTES * 512);
    idPoolUsed = 0;
  }
  const bytes = idPool.subarray(idPoolUsed, (idPoolUsed += ID_RANDOM_BYTES));
  return `AAMkAG${bytes.toString("base64").replace(/\//g, "-").replace(/\+/g, "_")}AAA=`;
}

function emptyStats(): Stats {
  return {
    httpRequests: 0,
    graphRequests: 0,
    throttled: { concurrency: 0, requests: 0, upload: 0 },
    serviceUnavailable: 0,
    tokensIssued: 0,
    lostCreates: 0,
  };
}
