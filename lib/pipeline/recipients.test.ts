import { describe, expect, it } from "vitest";
import type { MailboxLookup } from "@/lib/m365";
import { createRecipientResolver } from "./recipients";

// The directory: Uma's mailbox also answers to her older Symphony address (an alias).
const directory: Record<string, string> = {
  "uma.chen@bank.example": "Uma.Chen@bank.example",
  "uchen9@markets.bank.example": "Uma.Chen@bank.example",
  "bob@bank.example": "bob@bank.example",
};
const writer = {
  resolveMailbox: (address: string): Promise<MailboxLookup> =>
    Promise.resolve(
      directory[address]
        ? { found: true, address, userId: `id-${directory[address]}`, primaryAddress: directory[address] }
        : { found: false, address, reason: "mailbox not found" },
    ),
};

const uma = { userId: 1, email: "uchen9@markets.bank.example" };
const bob = { userId: 2, email: "bob@bank.example" };
const partner = { userId: 3, email: "ann@partner.example", isExternal: true };

describe("what imported items show mapped people as", () => {
  it("the mailbox's primary address, whatever address found it; the ledger keeps its key", async () => {
    const resolver = createRecipientResolver(writer, { mappingMode: "AUTO", csv: new Map(), fallbackMailbox: null });
    expect(await resolver.addresses([uma, bob, partner])).toEqual(
      new Map([
        ["1", "Uma.Chen@bank.example"],
        ["2", "bob@bank.example"],
      ]),
    );
    expect((await resolver([uma, bob, partner])).map((r) => [r.mailbox, r.status])).toEqual([
      ["uchen9@markets.bank.example", "PENDING"],
      ["bob@bank.example", "PENDING"],
      ["ann@partner.example", "SKIPPED"],
    ]);
  });

  it("the mailbox of the CSV row, for people the mapping file names", async () => {
    const resolver = createRecipientResolver(writer, {
      mappingMode: "CSV",
      csv: new Map([
        ["uchen9@markets.bank.example", "Uma.Chen@Bank.example"],
        ["3", "ann.archive@bank.example"],
      ]),
      fallbackMailbox: null,
    });
    expect(await resolver.addresses([uma, bob, partner])).toEqual(
      new Map([
        ["1", "Uma.Chen@Bank.example"],
        ["2", "bob@bank.example"],
        ["3", "ann.archive@bank.example"],
      ]),
    );
    expect((await resolver([uma])).map((r) => r.mailbox)).toEqual(["uma.chen@bank.example"]);
  });
});
