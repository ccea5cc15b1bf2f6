// Which Symphony people the connector cannot map to a mailbox, decided by the pipeline's own mapping
// rules (lib/pipeline/recipients.ts), so the wizard says exactly what an import will do.
import { MAILBOX_NOT_FOUND, type MailboxLookup } from "@/lib/m365";
import { mapLimit } from "@/lib/async";
import { createRecipientResolver } from "@/lib/pipeline";

export interface Participant {
  id: number;
  email?: string;
  displayName?: string;
  company?: string;
  /** Of another company: never mapped. */
  external: boolean;
}

export interface MappingRules {
  mappingMode: "AUTO" | "CSV";
  /** CSV rows: lower-cased Symphony email or Symphony user id -> mailbox. */
  csv: ReadonlyMap<string, string>;
}

/**
 * Looks an address up in the tenant's directory; absent until the tenant has consented. A user
 * without a mailbox (unlicensed, on-premises, guest) is `found: false` with that reason.
 */
export type DirectoryLookup = (address: string) => Promise<{ found: boolean; reason?: string }>;

export interface MappingReport {
  people: number;
  mapped: number;
  /** Skipped by the pipeline (or copied to the fallback mailbox), with the pipeline's reason. */
  unmapped: { person: Participant; reason: string }[];
  /** Mapped by a CSV row to an address that has no mailbox: their items fail. */
  missingMailbox: { person: Participant; mailbox: string }[];
  /** Internal people with an email whose mailbox is looked up once the tenant has consented. */
  awaitingDirectory: number;
}

const LOOKUPS_IN_FLIGHT = 8;
const NOT_LOOKED_UP = new Error("directory not checked");

export async function mappingReport(
  people: Participant[],
  rules: MappingRules,
  lookUp?: DirectoryLookup,
): Promise<MappingReport> {
  const resolveMailbox = async (address: string): Promise<MailboxLookup> => {
    if (!lookUp) throw NOT_LOOKED_UP;
    const { found, reason } = await lookUp(address);
    return found
      ? { found, address, userId: "", primaryAddress: address }
      : { found, address, reason: reason ?? MAILBOX_NOT_FOUND };
  };
  const recipientsOf = createRecipientResolver({ resolveMailbox }, { ...rules, fallbackMailbox: null });
  const report: MappingReport = {
    people: people.length,
    mapped: 0,
    unmapped: [],
    missingMailbox: [],
    awaitingDirectory: 0,
  };

  await mapLimit(people, LOOKUPS_IN_FLIGHT, async (person) => {
    const participant = {
      userId: person.id,
      email: person.email,
      isExternal: person.external,
      company: person.company,
    };
    let recipient;
    try {
      [recipient] = await recipientsOf([participant]);
    } catch (error) {
      if (error !== NOT_LOOKED_UP) throw error;
      report.awaitingDirectory++;
      return;
    }
    if (!recipient) throw new Error(`The mapping rules gave no recipient for Symphony user ${person.id}.`);
    if (recipient.status === "SKIPPED") {
      report.unmapped.push({ person, reason: recipient.reason ?? "not mapped" });
      return;
    }
    // A CSV row may name an address without a mailbox: the import then fails those items.
    const sameAsEmail = recipient.mailbox === person.email?.trim().toLowerCase();
    if (lookUp && !sameAsEmail && !(await lookUp(recipient.mailbox)).found) {
      report.missingMailbox.push({ person, mailbox: recipient.mailbox });
      return;
    }
    report.mapped++;
  });
  const byName = (a: { person: Participant }, b: { person: Participant }) =>
    (a.person.displayName ?? "").localeCompare(b.person.displayName ?? "");
  report.unmapped.sort(byName);
  report.missingMailbox.sort(byName);
  return report;
}
