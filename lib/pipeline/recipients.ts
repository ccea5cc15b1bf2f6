import { FOUND_MAILBOX_TTL_MS, MAILBOX_NOT_FOUND, type MailboxWriter } from "@/lib/m365";
import { expiringLoads } from "@/lib/async";
import { storableKey } from "./ledger";
import type { Participant } from "./source";

/** One ledger row to write for a (message, participant): a mailbox to import into, or why not. */
export type Recipient = { mailbox: string; status: "PENDING" | "SKIPPED" | "FAILED"; reason: string | null };

export type MappingRules = {
  mappingMode: "AUTO" | "CSV";
  /** CSV rows: lower-cased Symphony email or Symphony user id -> mailbox. */
  csv: ReadonlyMap<string, string>;
  fallbackMailbox: string | null;
};

/** Exchange's longest SMTP address (a proxy address is at most 320 characters, RFC 3696). */
const MAX_ADDRESS_CHARS = 320;

/** `mailbox` keys the ledger row; `address` is what the person's items show them as (the mailbox's primary SMTP address). */
type Resolution = { mailbox: string; address: string } | { key: string; reason: string };

/**
 * Maps participants to mailboxes: CSV rows first (CSV mode), then the participant's Symphony email
 * looked up in Microsoft 365 (once per person and run, or per `lookupTtlMs`). External people are never mapped. Unmapped
 * participants become SKIPPED rows with their reason, plus one PENDING row in the fallback mailbox.
 * `addresses` tells what the mapped people's items show them as: the CSV row's mailbox, else the
 * primary SMTP address of the mailbox found (an alias or an older Symphony address is not shown).
 */
export function createRecipientResolver(
  writer: Pick<MailboxWriter, "resolveMailbox">,
  rules: MappingRules,
  /**
   * How long a person without a mailbox stays so: a run keeps it throughout; real-time capture, which
   * runs for days, asks again (someone licensed later is found). A mailbox found is kept a day.
   */
  lookupTtlMs = Infinity,
) {
  const lookups = expiringLoads<Resolution>(lookupTtlMs, Infinity, (resolution) =>
    "mailbox" in resolution ? Math.max(lookupTtlMs, FOUND_MAILBOX_TTL_MS) : lookupTtlMs,
  );

  async function resolveOne(person: Participant): Promise<Resolution> {
    const email = person.email?.trim().toLowerCase();
    const key = email || `symphony-user:${person.userId}`;
    if (rules.mappingMode === "CSV") {
      const mapped = rules.csv.get(String(person.userId)) ?? (email ? rules.csv.get(email) : undefined);
      if (mapped) return { mailbox: mapped.toLowerCase(), address: mapped.trim() };
    }
    if (person.isExternal)
      return { key, reason: `external participant${person.company ? ` (${person.company})` : ""}` };
    if (!email) return { key, reason: "no email address in Symphony" };
    // No mailbox has such an address (NUL, a lone surrogate, which no lookup URL can even carry, or too long).
    if (email.length > MAX_ADDRESS_CHARS || storableKey(email) !== email)
      return { key, reason: "its Symphony email is not an address a Microsoft 365 mailbox can have" };
    const found = await writer.resolveMailbox(email);
    if (found.found) return { mailbox: email, address: found.primaryAddress };
    // A directory user without a mailbox (unlicensed, on-premises, guest) keeps its own reason.
    return { key, reason: found.reason === MAILBOX_NOT_FOUND ? `no Microsoft 365 mailbox for ${email}` : found.reason };
  }

  // By id and address: the same person may come without an address first (a wall post's author) and with it later.
  function resolve(person: Participant): Promise<Resolution> {
    return lookups.get(`${person.userId}|${person.email?.trim().toLowerCase() ?? ""}`, () => resolveOne(person));
  }

  /** The Microsoft 365 address of each mapped participant, by Symphony user id (the same lookups as the rows). */
  async function addresses(participants: Participant[]): Promise<Map<string, string>> {
    const resolutions = await Promise.all(participants.map(resolve));
    const byUserId = new Map<string, string>();
    participants.forEach((person, i) => {
      const resolution = resolutions[i]!;
      if ("address" in resolution) byUserId.set(String(person.userId), resolution.address);
    });
    return byUserId;
  }

  async function recipientsOf(participants: Participant[]): Promise<Recipient[]> {
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
  }

  return Object.assign(recipientsOf, { addresses });
}

export type RecipientResolver = ReturnType<typeof createRecipientResolver>;
