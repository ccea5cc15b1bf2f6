import { describe, expect, it } from "vitest";
import { mappingReport, type Participant } from "./unmapped";

const people: Participant[] = [
  { id: 1, email: "ann@bank.example", displayName: "Ann", external: false },
  { id: 2, displayName: "Bob", external: false },
  { id: 3, email: "old.carl@markets.bank.example", displayName: "Carl", external: false },
  { id: 4, email: "dana@broker.example", displayName: "Dana", company: "Broker Ltd", external: true },
];
const mailboxes = new Set(["ann@bank.example", "carl@bank.example"]);
const directory = (address: string) => Promise.resolve({ found: mailboxes.has(address) });
const auto = { mappingMode: "AUTO" as const, csv: new Map<string, string>() };

describe("mappingReport", () => {
  it("follows the pipeline: external never, no email never, others when the directory has their mailbox", async () => {
    const report = await mappingReport(people, auto, directory);
    expect(report.mapped).toBe(1);
    expect(report.unmapped.map(({ person, reason }) => [person.id, reason])).toEqual([
      [2, "no email address in Symphony"],
      [3, "no Microsoft 365 mailbox for old.carl@markets.bank.example"],
      [4, "external participant (Broker Ltd)"],
    ]);
    expect(report.awaitingDirectory).toBe(0);
  });

  it("without consent reports only what is known and counts who awaits the directory lookup", async () => {
    const report = await mappingReport(people, auto);
    expect(report.unmapped.map(({ person }) => person.id)).toEqual([2, 4]);
    expect(report.awaitingDirectory).toBe(2);
    expect(report.mapped).toBe(0);
  });

  it("CSV rows map by user id or email; a row pointing at an address without a mailbox is reported", async () => {
    const csv = new Map([
      ["3", "carl@bank.example"],
      ["2", "nobody@bank.example"],
    ]);
    const report = await mappingReport(people, { mappingMode: "CSV", csv }, directory);
    expect(report.mapped).toBe(2);
    expect(report.missingMailbox).toEqual([{ person: people[1], mailbox: "nobody@bank.example" }]);
    expect(report.unmapped.map(({ person }) => person.id)).toEqual([4]);
  });

  it("lists a directory user without a mailbox (unlicensed, on-premises, guest) as cannot be mapped, with the reason", async () => {
    const guest = "This user has no Exchange Online mailbox (Graph 404 MailboxNotEnabledForRESTAPI)";
    const lookUp = (address: string) =>
      Promise.resolve(address === "ann@bank.example" ? { found: false, reason: guest } : { found: false });
    const report = await mappingReport(people.slice(0, 1), auto, lookUp);
    expect(report.mapped).toBe(0);
    expect(report.unmapped).toEqual([{ person: people[0], reason: guest }]);
  });

  it("keeps at most 8 directory lookups in flight and looks each address up once", async () => {
    const many = Array.from({ length: 40 }, (_, i) => ({ id: i, email: `u${i}@bank.example`, external: false }));
    let inFlight = 0;
    let peak = 0;
    const asked: string[] = [];
    const slow = async (address: string) => {
      asked.push(address);
      peak = Math.max(peak, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, 2));
      inFlight--;
      return { found: true };
    };
    const report = await mappingReport(many, auto, slow);
    expect(report.mapped).toBe(40);
    expect(peak).toBe(8);
    expect(new Set(asked).size).toBe(asked.length);
  });
});
