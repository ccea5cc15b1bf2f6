import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { db } from "@/lib/db";
import { runImport } from "./run";
import { purgeStagedItems } from "./retention";
import { stagingStoreFor } from "./services";
import { reopenFailedItems, retryFailedItems } from "@/lib/connectors";
import { canRun, exactlyOnceProblems, startHarness, type Harness } from "@/lib/testing";

// Mailboxes Microsoft 365 refuses one by one must never stop a run: a mailbox outside the tenant's
// application access policy FAILS its own items, a directory user without a mailbox (or with one on a
// dedicated Exchange Server, or one Graph answers "Resource could not be discovered" for) is SKIPPED.
describe.skipIf(!canRun)("a run meeting mailboxes Microsoft 365 refuses", () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ seed: "mailbox-refusals", users: 10, messages: 60 });
  });
  afterAll(() => h?.close());

  it("fails the items of a mailbox outside the access policy, skips users without a mailbox, imports the rest", async () => {
    // People whose Symphony address is their mailbox, so that the automatic mapping reaches them, in a
    // conversation the bot reads.
    const inReadStreams = new Set(
      h.symphony.org.streams
        .filter((s) => s.botIsMember && s.messageCount > 0)
        .flatMap((s) => h.symphony.currentMembers(s.id).map((m) => m.person.id)),
    );
    const reachable = h.symphony.org.people.filter(
      (p) => p.m365Address && p.m365Address === p.symphonyEmail && inReadStreams.has(p.id),
    );
    const [blocked, unlicensed, dedicated, undiscovered] = reachable;
    if (!blocked || !unlicensed || !dedicated || !undiscovered)
      throw new Error("the seeded organisation has too few mapped people");
    h.m365.setMailbox(blocked.m365Address!, { appAccessBlocked: true });
    h.m365.setMailbox(unlicensed.m365Address!, { mailboxEnabled: false });
    h.m365.setMailbox(dedicated.m365Address!, { onDedicatedExchange: true });
    h.m365.setMailbox(undiscovered.m365Address!, { mailboxEnabled: false, noMailboxAnswer: "ResourceNotFound" });

    const summary = await runImport(await h.newRun(), { workerId: "refusals-worker", environment: h.environment });
    expect(summary.status).toBe("PARTIAL");
    const items = await db.importItem.findMany({ where: { connectorId: h.connector.id } });
    const of = (address: string) => items.filter((item) => item.mailbox === address.toLowerCase());

    const blockedItems = of(blocked.m365Address!);
    expect(blockedItems.length).toBeGreaterThan(0);
    for (const item of blockedItems) {
      expect(item.status).toBe("FAILED");
      expect(item.attempts).toBe(1);
      expect(item.reason).toMatch(/application access policy.*Add the mailbox to the policy's scope/s);
    }
    const unlicensedItems = of(unlicensed.m365Address!);
    expect(unlicensedItems.length).toBeGreaterThan(0);
    for (const item of unlicensedItems) {
      expect(item.status).toBe("SKIPPED");
      expect(item.reason).toMatch(/no Exchange Online mailbox.*MailboxNotEnabledForRESTAPI/);
    }
    // The other code Exchange gives a mailbox Graph cannot reach: skipped alike, never the run's error.
    const dedicatedItems = of(dedicated.m365Address!);
    expect(dedicatedItems.length).toBeGreaterThan(0);
    for (const item of dedicatedItems) {
      expect(item.status).toBe("SKIPPED");
      expect(item.reason).toMatch(/no Exchange Online mailbox.*MailboxNotSupportedForRESTAPI/);
    }
    // The answer Graph has also given for a user without a mailbox: skipped alike, never the run's error.
    const undiscoveredItems = of(undiscovered.m365Address!);
    expect(undiscoveredItems.length).toBeGreaterThan(0);
    for (const item of undiscoveredItems) {
      expect(item.status).toBe("SKIPPED");
      expect(item.reason).toMatch(/no Exchange Online mailbox.*404 ResourceNotFound/);
    }
    expect(items.filter((item) => item.status === "IMPORTED").length).toBeGreaterThan(0);
    expect(items.filter((item) => item.status === "PENDING")).toEqual([]);
    expect(h.m365.items(blocked.m365Address!)).toEqual([]);

    // The admin adds the mailbox to the policy's scope and retries the failed items: each lands once.
    h.m365.setMailbox(blocked.m365Address!, { appAccessBlocked: false });
    // (The button also queues a run, as Run now does; here the run is run in this process.)
    expect(await reopenFailedItems(h.connector.id, "admin@bank.example")).toBe(blockedItems.length);
    const again = await runImport(await h.newRun(), { workerId: "refusals-worker", environment: h.environment });
    expect(again.status).toBe("SUCCEEDED");
    const after = await db.importItem.findMany({ where: { id: { in: blockedItems.map((item) => item.id) } } });
    expect(after.map((item) => item.status)).toEqual(blockedItems.map(() => "IMPORTED"));
    expect(h.m365.items(blocked.m365Address!)).toHaveLength(blockedItems.length);
    expect((await exactlyOnceProblems(h)).problems.filter((problem) => !problem.startsWith("missing "))).toEqual([]);
    const audit = await db.auditEvent.findFirst({ where: { connectorId: h.connector.id, action: "items.retried" } });
    expect(audit?.detail).toEqual({ items: blockedItems.length });
    // Nothing left that failed while importing: the button says so instead of queuing an empty run.
    expect(await retryFailedItems(h.connector.id, "admin@bank.example")).toMatchObject({
      ok: false,
      message: expect.stringMatching(/^No item failed while being imported/) as unknown,
    });
  });

  it("keeps a failed item's staged copy past retention, so that its retry imports it; one removed by hand fails at once, saying why", async () => {
    const room = h.symphony.org.streams.find(
      (s) =>
        s.botIsMember && h.symphony.currentMembers(s.id).some((m) => m.person.m365Address === m.person.symphonyEmail),
    )!;
    const person = h.symphony
      .currentMembers(room.id)
      .map((m) => m.person)
      .find((p) => p.m365Address && p.m365Address === p.symphonyEmail && p.id !== h.symphony.org.bot.id)!;
    const address = person.m365Address!;
    const failedItemOf = async (text: string) => {
      h.m365.setMailbox(address, { appAccessBlocked: true });
      const added = h.symphony.addMessage({ streamId: room.id, senderId: person.id, text });
      const run = await runImport(await h.newRun(), { workerId: "refusals-worker", environment: h.environment });
      expect(run.status).toBe("PARTIAL");
      h.m365.setMailbox(address, { appAccessBlocked: false });
      const item = await db.importItem.findFirstOrThrow({
        where: {
          connectorId: h.connector.id,
          mailbox: address.toLowerCase(),
          sourceMessage: { messageId: added.messageId },
        },
      });
      expect(item.status).toBe("FAILED");
      return item;
    };
    const retry = async () => {
      expect(await reopenFailedItems(h.connector.id, "admin@bank.example")).toBe(1);
      return runImport(await h.newRun(), { workerId: "refusals-worker", environment: h.environment });
    };

    // Retention (here: everything older than now) keeps the copy the failed item needs.
    const kept = await failedItemOf("kept past retention");
    const held = h.m365.items(address)?.length ?? 0;
    await purgeStagedItems(h.environment, 0);
    expect(await retry()).toMatchObject({ status: "SUCCEEDED", counts: { failed: 0 } });
    expect(await db.importItem.findUniqueOrThrow({ where: { id: kept.id } })).toMatchObject({ status: "IMPORTED" });
    expect(h.m365.items(address)).toHaveLength(held + 1);

    // A staged copy removed all the same (by hand, or a storage account emptied) fails its retry at once.
    const lost = await failedItemOf("removed by hand");
    const store = await stagingStoreFor(h.environment);
    expect(await store.purgeOlderThan(new Date(Date.now() + 1000), h.connector.id)).toBeGreaterThan(0);
    const again = await retry();
    expect(again).toMatchObject({ status: "PARTIAL", counts: { failed: 1 } });
    const after = await db.importItem.findUniqueOrThrow({ where: { id: lost.id } });
    expect(after).toMatchObject({ status: "FAILED", failures: 1 });
    expect(after.reason).toMatch(/staged copy of the message .* no longer exists/);
    expect(h.m365.items(address)).toHaveLength(held + 1);
  });
});
