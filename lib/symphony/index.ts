export { createSymphonyClient } from "./client";
export type { StreamFilter, SymphonyClient, SymphonyClientOptions } from "./client";
export { SymphonyError } from "./errors";
export type { SymphonyErrorCode } from "./errors";
export type { RetryEvent } from "./http";
export type { RetryPolicy } from "./retry";
export type {
  AdminStream,
  AdminUser,
  Datafeed,
  DatafeedEvent,
  DatafeedRead,
  StreamMember,
  StreamType,
  SymphonyMessage,
  SymphonyUser,
} from "./schemas";
export { parseRsaPrivateKey, parseSymphonySettings, symphonySettingsSchema } from "./settings";
export type { SymphonySettings, SymphonySettingsInput } from "./settings";
export { testConnection } from "./test-connection";
export type { ConnectionReport } from "./test-connection";
