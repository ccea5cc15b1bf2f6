export { createSymphonyClient } from "./client";
export type { DatahoseReadRequest, StreamFilter, SymphonyClient, SymphonyClientOptions } from "./client";
export { ResponseTooLargeError, SymphonyError } from "./errors";
export type { SymphonyErrorCode } from "./errors";
export type { ResponseEvent, RetryEvent } from "./http";
export type { RetryPolicy } from "./retry";
export type {
  AdminStream,
  AdminUser,
  Datafeed,
  DatafeedEvent,
  DatafeedRead,
  DatahoseEvent,
  DatahoseRead,
  StreamMember,
  StreamType,
  SharedMessage,
  SymphonyMessage,
  SymphonyUser,
} from "./schemas";
/** How the client reads a message list: every item kept, one that does not fit marked `invalid`. */
export { messageListSchema, unfit } from "./schemas";
export {
  BASE_URL_ONLY,
  isBaseAddress,
  parseRsaPrivateKey,
  parseSymphonySettings,
  symphonySettingsSchema,
} from "./settings";
export type { SymphonySettings, SymphonySettingsInput } from "./settings";
export { testConnection } from "./test-connection";
export { checkDatahose } from "./datahose-check";
export { keyManagerNeeded } from "./key-delivery";
export type { ConnectionReport } from "./test-connection";

// Building blocks reused by lib/content-export (the Files API signs in like the rest of Symphony).
export { createPodSession, JWT_LIFETIME_SECONDS } from "./auth";
export type { PodSession } from "./auth";
export { readJson, send, statusError } from "./http";
export type { HttpOptions, HttpRequest } from "./http";
export {
  HTTPS_REQUIRED,
  PrivateAddressError,
  resolveAllowedAddresses,
  schemeAllowed,
  symphonyDispatcher,
} from "./network";
export { defaultRetryPolicy } from "./retry";
export { toUrlSafeId } from "./messages";
