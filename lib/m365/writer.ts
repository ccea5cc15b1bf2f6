import type { GraphContext } from "./context";
import { batchingTransport } from "./batching";
import { GraphRequestError } from "./errors";
import { createGraphTransport } from "./graph";
import type { ImportItem, ImportResult } from "./item";
import { findOrCreateSymphonyFolder, lookUpMailbox, type MailboxLookup } from "./mailbox";
import { findMessageByKey, importMessage, mailboxMaxMessageSize, type ImportOptions } from "./message";
import { createScheduler, type Scheduler, type SchedulerCounters } from "./scheduler";
import { parseM365Settings, type M365SettingsInput } from "./settings";
import { createTokenProvider } from "./token";
import { cachedLoad, expiringLoads } from "@/lib/async";

export type MailboxWriter = {
  /**
   * The mailbox owner of `address`; a missing user or a user without a mailbox (unlicensed,
   * on-premises, guest) is a result with its reason (the item is skipped), not an error.
   */
  resolveMailbox(address: string): Promise<MailboxLookup>;
  /** The id of Inbox/Symphony in the user's mailbox, created on first use. */
  ensureSymphonyFolder(userId: string): Promise<string>;
  importMessage(userId: string, folderId: string, item: ImportItem, options?: ImportOptions): Promise<ImportResult>;
  /** The Graph id of the message imported with `key`, if any. */
  findByKey(userId: string, key: string): Promise<string | undefined>;
  counters(): SchedulerCounters;
  /** Whether the mailbox was throttled (a 429, or a wait for its budget) at or after `since` (ms). */
  throttledSince(userId: string, since: number): boolean;
};

export type MailboxWriterOptions = {
  settings: M365SettingsInput;
  /** Share one scheduler between the writers of a process so that its limits hold for all of them. */
  scheduler?: Scheduler;
  /** How long a lookup that found no mailbox is kept (a user licensed later is found then); the writer's lifetime by default. A mailbox found is kept a day at least. */
  lookupTtlMs?: number;
};

/** How long a mailbox found is kept at least, however short the lookups' time: an address may move to another user. */
export const FOUND_MAILBOX_TTL_MS = 86_400_000;

/** The Microsoft 365 side of an import: one per tenant; lookups and folders are cached for its lifetime. */
export function createMailboxWriter({
  settings,
  scheduler = createScheduler(),
  lookupTtlMs = Infinity,
}: MailboxWriterOptions): MailboxWriter {
  const parsed = parseM365Settings(settings);
  const ctx: GraphContext = {
    graph: batchingTransport(createGraphTransport(parsed, createTokenProvider(parsed))),
    scheduler,
  };
  const mailboxes = expiringLoads<MailboxLookup>(lookupTtlMs, Infinity, (lookup) =>
    lookup.found ? Math.max(lookupTtlMs, FOUND_MAILBOX_TTL_MS) : lookupTtlMs,
  );
  const folders = new Map<string, Promise<string>>();
  const sizeLimits = new Map<string, Promise<number | undefined>>();
  const addresses = new Map<string, string>();
  const resolveMailbox = async (address: string) => {
    const lookup = await mailboxes.get(address.trim().toLowerCase(), (key) => lookUpMailbox(ctx, key));
    if (lookup.found) addresses.set(lookup.userId, lookup.address);
    return lookup;
  };
  // The mailbox's MaxReceiveSize from its mail tip, once per mailbox; unknown when it was never resolved here.
  const maxMessageSize = (userId: string) => () => {
    const address = addresses.get(userId);
    if (!address) return Promise.resolve(undefined);
    return cachedLoad(sizeLimits, userId, () => mailboxMaxMessageSize(ctx, userId, address));
  };

  return {
    resolveMailbox,
    ensureSymphonyFolder: (userId) => cachedLoad(folders, userId, () => findOrCreateSymphonyFolder(ctx, userId)),
    importMessage: (userId, folderId, item, options) =>
      importMessage(ctx, userId, folderId, item, { maxMessageSize: maxMessageSize(userId), ...options }).catch(
        (error: unknown) => {
          // Inbox/Symphony deleted meanwhile (the create into it answers 404): the next attempt finds
          // or makes the folder again instead of trying the dead id until the item fails.
          if (error instanceof GraphRequestError && error.status === 404) folders.delete(userId);
          throw error;
        },
      ),
    findByKey: (userId, key) => findMessageByKey(ctx, userId, key),
    counters: () => scheduler.counters(),
    throttledSince: (userId, since) => scheduler.throttledSince(userId, since),
  };
}
