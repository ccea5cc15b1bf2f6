import { MAILBOX_NOT_FOUND, type MailboxWriter } from "@/lib/m365";
import { cachedLoad } from "@/lib/async";

/** One ledger row to write for a (message, participant): a mailbox to import into, or why not. */
export type Recipient = { mailbox: string; status: "PENDING" | "SKIPPED" | "FAILED"; reason: string | null };

export type MappingRules = {
  mappingMode: "AUTO" | "CSV";
  /** CSV rows: lower-cased Symphony email or Symphony user id -> mailbox. */
  csv: ReadonlyMap<string, string>;
  fallbackMailbox: string | null;
};

import type { Participant } from "./source";
type Resolution = { mailbox: string } | { key: string; reason: string };

/**
 * Maps participants to mailboxes: CSV rows first (CSV mode), then the participant's Symphony email
 * looked up in Microsoft 365 (once per person and run). External people are never mapped. Unmapped
 * participants become SKIPPED rows with their reason, plus one PENDING row in the fallback mailbox.
 */
export function createRecipientResolver(writer: Pick<MailboxWriter, "resolveMailbox">, rules: MappingRules) {
  const lookups = new Map<string, Promise<Resolution>>();

  async function resolveOne(person: Participant): Promise<Resolution> {
    const email = person.email?.trim().toLowerCase();
    const key = email || `symphony-user:${person.userId}`;
    if (rules.mappingMode === "CSV") {
      const mapped = rules.csv.get(String(person.userId)) ?? (email ? rules.csv.get(email) : undefined);
      if (mapped) return { mailbox: mapped.toLowerCase() };
    }
    if (person.isExternal)
      return { key, reason: `external participant${person.company ? ` (${person.company})` : ""}` };
    if (!email) return { key, reason: "no email address in Symphony" };
    const found = await writer.resolveMailbox(email);
    if (found.found) return { mailbox: email };
    // A directory user without a mailbox (unlicensed, on-premises, guest) keeps its own reason.
    return { key, reason: found.reason === MAILBOX_NOT_FOUND ? `no Microsoft 365 mailbox for ${email}` : found.reason };
  }

  function resolve(person: Participant): Promise<Resolution> {
    return cachedLoad(lookups, String(person.userId), () => resolveOne(person));
  }

  return async function recipientsOf(participants: Participant[]): Promise<Recipient[]> {
    const byMailbox = new Map<string, Recipient>();
    const unmapped: string[] = [];
    for (const resolution of await Promise.all(participants.map(resolve))) {
      if ("mailbox" in resolution) {
        byMailbox.set(resolution.mailbox, { mailbox: resolution.mailbox, status: "PENDING", reason: null });
      } else {
        unmapped.push(resolution.key);
        const reason = rules.fallbackMailbox
          ? `${resolution.reason}; copied to the fallback mailbox`
          : resolution.reason;
        if (!byMailbox.has(resolution.key))
          byMailbox.set(resolution.key, { mailbox: resolution.key, status: "SKIPPED", reason });
      }
    }
    const fallback = rules.fallbackMailbox?.toLowerCase();
    if (fallback && unmapped.length > 0 && byMailbox.get(fallback)?.status !== "PENDING") {
      byMailbox.set(fallback, {
        mailbox: fallback,
        status: "PENDING",
        reason: `fallback mailbox for ${unmapped.join(", ")}`,
      });
    }
    return [...byMailbox.values()];
  };
}

export type RecipientResolver = ReturnType<typeof createRecipientResolver>;
