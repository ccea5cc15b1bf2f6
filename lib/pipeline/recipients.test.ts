import { afterEach, describe, expect, it, vi } from "vitest";
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

describe("participants whose Symphony email no mailbox can have", () => {
  it("are skipped with the reason, never looked up (a lone surrogate cannot even be put in a lookup's URL)", async () => {
    const looked: string[] = [];
    const strict = {
      resolveMailbox: (address: string) => {
        looked.push(encodeURIComponent(address)); // what the Graph lookup does with it
        return writer.resolveMailbox(address);
      },
    };
    const resolver = createRecipientResolver(strict, { mappingMode: "AUTO", csv: new Map(), fallbackMailbox: null });
    const surrogate = { userId: 7, email: "\ud800ann@bank.example" };
    const nul = { userId: 8, email: "ann\u0000@bank.example" };
    const long = { userId: 9, email: `${"a".repeat(400)}@bank.example` };
    const rows = await resolver([bob, surrogate, nul, long]);
    expect(rows.map((r) => r.status)).toEqual(["PENDING", "SKIPPED", "SKIPPED", "SKIPPED"]);
    for (const row of rows.slice(1))
      expect(row.reason).toBe("its Symphony email is not an address a Microsoft 365 mailbox can have");
    expect(looked).toEqual(["bob%40bank.example"]);
  });
});

describe("people whose mapping changes while a capture runs", () => {
  afterEach(() => vi.useRealTimers());
  const rules = { mappingMode: "AUTO" as const, csv: new Map<string, string>(), fallbackMailbox: null };

  it("looks a person without a mailbox up again once the lookup's time is over (a new joiner licensed later), and keeps a mailbox found", async () => {
    vi.useFakeTimers();
    const licensed = new Set<string>();
    const lookups: string[] = [];
    const directoryLater = {
      resolveMailbox: (address: string): Promise<MailboxLookup> => {
        lookups.push(address);
        return Promise.resolve(
          licensed.has(address)
            ? { found: true, address, userId: `id-${address}`, primaryAddress: address }
            : { found: false, address, reason: "mailbox not found" },
        );
      },
    };
    const joiner = { userId: 7, email: "new.joiner@bank.example" };
    const resolver = createRecipientResolver(directoryLater, rules, 600_000);
    expect(await resolver([joiner])).toEqual([
      {
        mailbox: "new.joiner@bank.example",
        status: "SKIPPED",
        reason: "no Microsoft 365 mailbox for new.joiner@bank.example",
      },
    ]);
    licensed.add("new.joiner@bank.example");
    vi.advanceTimersByTime(599_000);
    expect((await resolver([joiner]))[0]?.status).toBe("SKIPPED");
    vi.advanceTimersByTime(2_000);
    expect(await resolver([joiner])).toEqual([{ mailbox: "new.joiner@bank.example", status: "PENDING", reason: null }]);
    expect(lookups).toHaveLength(2);
    // A mailbox found is kept: no lookup per person every 10 minutes.
    vi.advanceTimersByTime(3_600_000);
    expect((await resolver([joiner]))[0]?.status).toBe("PENDING");
    expect(lookups).toHaveLength(2);
  });

  it("maps a person first seen without an email by the email they come with later", async () => {
    const resolver = createRecipientResolver(writer, rules);
    expect((await resolver([{ userId: 2 }]))[0]).toMatchObject({
      status: "SKIPPED",
      reason: "no email address in Symphony",
    });
    expect(await resolver([bob])).toEqual([{ mailbox: "bob@bank.example", status: "PENDING", reason: null }]);
  });
});
