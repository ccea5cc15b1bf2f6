export { createMailboxWriter, FOUND_MAILBOX_TTL_MS, type MailboxWriter, type MailboxWriterOptions } from "./writer";
export {
  createScheduler,
  defaultSchedulerOptions,
  type Scheduler,
  type SchedulerCounters,
  type SchedulerOptions,
} from "./scheduler";
export { createTokenProvider, GRAPH_SCOPE, graphScope, tokenGrant, type TokenProvider } from "./token";
export { authorityUrl } from "./authority";
export { m365SettingsSchema, parseM365Settings, type M365Settings, type M365SettingsInput } from "./settings";
export {
  DEFAULT_MAX_RECEIVE_BYTES,
  GraphRequestError,
  GraphRetriesExhaustedError,
  M365AuthError,
  MailboxUnavailableError,
  type M365AuthFailure,
  type MailboxProblem,
} from "./errors";
export { ITEM_KEY_PROPERTY, SYMPHONY_PROPERTY_SET } from "./message";
export { MAILBOX_NOT_FOUND, SYMPHONY_FOLDER_NAME, type MailboxLookup } from "./mailbox";
export type { ImportAttachment, ImportItem, ImportResult } from "./item";
export type { ImportOptions } from "./message";

// The same operations without the writer's caches, for callers that keep their own (lib/pipeline).
export { sendOk, type GraphContext } from "./context";
export { createGraphTransport, type GraphTransport } from "./graph";
export { findOrCreateSymphonyFolder, lookUpMailbox, mailboxRefusal } from "./mailbox";
export { findMessageByKey, importMessage, mailboxMaxMessageSize } from "./message";
export { verifyTenantAccess } from "./tenant";
export { sendMail, type MailToSend } from "./mail";
