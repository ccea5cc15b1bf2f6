// Issue 10, item 3: an imported item names mapped people by their Microsoft 365 address (a content
// search by the mailbox finds it), keeps their Symphony address and user id in X-Symphony-* headers,
// names unmapped people by their Symphony address, and the service account is nobody's recipient.
import { simpleParser } from "mailparser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkConnectorMapping } from "@/lib/connectors";
import { messageIdFor } from "@/lib/convert";
import { db } from "@/lib/db";
import { createTokenProvider, parseM365Settings } from "@/lib/m365";
import { createStagingStore } from "@/lib/staging";
import { canRun, startHarness, type Harness } from "@/lib/testing";
import { runImport } from "./run";
import { openStagedMime } from "./staged-item";

if (!canRun) console.warn("lib/pipeline address tests skipped: needs vitest's globalSetup");

type GraphItem = {
  from: { emailAddress: { address: string } };
  toRecipients: { emailAddress: { address: string } }[];
  internetMessageHeaders: { name: string; value: string }[];
};

describe.skipIf(!canRun)("addresses in imported items", () => {
  let h: Harness;

  beforeAll(async () => {
    // Everyone of our company has a mailbox; one kept an older Symphony address, an alias of it.
    h = await startHarness({ seed: "addresses", users: 8, messages: 40, largeAttachments: false, aliases: true });
  });
  afterAll(() => h?.close());

  /** The item as Graph returns it from the mailbox: From, To and the custom headers. */
  async function graphItem(mailbox: string, symphonyMessageId: string): Promise<GraphItem> {
    const item = h.m365.items(mailbox)?.find((i) => i.internetMessageId === messageIdFor(symphonyMessageId));
    if (!item) throw new Error(`${symphonyMessageId} is not in ${mailbox}`);
    const settings = parseM365Settings({ ...h.environment.m365, tenantId: h.m365.tenantId });
    const token = await createTokenProvider(settings).getAccessToken();
    const response = await fetch(
      `${h.m365.graphBaseUrl}/users/${encodeURIComponent(mailbox)}/messages/${encodeURIComponent(item.id)}?$select=from,toRecipients,internetMessageHeaders`,
      { headers: { Authorization: `Bearer ${token}` } },
    );
    expect(response.status).toBe(200);
    return (await response.json()) as GraphItem;
  }

  const header = (item: GraphItem, name: string) => item.internetMessageHeaders.find((h) => h.name === name)?.value;

  it("shows mapped people by their mailbox address and the unmapped by their Symphony address; the Symphony identity stays in headers", async () => {
    const org = h.symphony.org;
    const moved = org.people.find((p) => !p.external && p.symphonyEmail !== p.m365Address)!;
    // A room the bot reads, with the person who kept an older address and people of other companies.
    const room = org.streams.find((s) => {
      const members = h.symphony.currentMembers(s.id).map((m) => m.person);
      return s.botIsMember && members.some((p) => p.id === moved.id) && members.some((p) => p.external);
    })!;
    expect(room, "a room of the bot with the moved person and an external one").toBeDefined();
    const members = h.symphony.currentMembers(room.id).map((m) => m.person);
    const external = members.find((p) => p.external)!;
    const fromMoved = h.symphony.addMessage({ streamId: room.id, text: "levels attached", senderId: moved.id });
    const fromExternal = h.symphony.addMessage({ streamId: room.id, text: "thanks", senderId: external.id });

    const summary = await runImport(await h.newRun(), { workerId: "addresses", environment: h.environment });
    expect(summary).toMatchObject({ status: "SUCCEEDED", counts: { failed: 0 } });

    const shownAs = (p: (typeof members)[number]) => (p.external ? p.symphonyEmail : p.m365Address!);
    const humans = members.filter((p) => p.id !== org.bot.id);

    // In the moved person's own mailbox (found through the alias), From is that mailbox's address.
    const own = await graphItem(moved.m365Address!, fromMoved.messageId);
    expect(own.from.emailAddress.address).toBe(moved.m365Address);
    expect(own.toRecipients.map((r) => r.emailAddress.address).sort()).toEqual(
      humans
        .filter((p) => p.id !== moved.id)
        .map(shownAs)
        .sort(),
    );
    expect(header(own, "X-Symphony-From-Address")).toBe(moved.symphonyEmail);
    expect(header(own, "X-Symphony-Sender-Id")).toBe(String(moved.id));
    expect(header(own, "X-Symphony-Stream-Id")).toBe(room.id);

    // From someone of another company: their Symphony address; the moved person is shown by their mailbox.
    const reply = await graphItem(moved.m365Address!, fromExternal.messageId);
    expect(reply.from.emailAddress.address).toBe(external.symphonyEmail);
    expect(reply.toRecipients.map((r) => r.emailAddress.address)).toContain(moved.m365Address);
    expect(reply.toRecipients.map((r) => r.emailAddress.address)).not.toContain(moved.symphonyEmail);
    expect(header(reply, "X-Symphony-Sender-Id")).toBe(String(external.id));

    // The staged MIME keeps every recipient's Symphony user id and address.
    const row = await db.sourceMessage.findUniqueOrThrow({
      where: { connectorId_messageId: { connectorId: h.connector.id, messageId: fromMoved.messageId } },
    });
    const staging = await createStagingStore(h.environment.staging);
    const mime = await simpleParser(await openStagedMime(staging, row));
    const to = mime.headers.get("x-symphony-to") as string;
    for (const person of humans.filter((p) => p.id !== moved.id))
      expect(to).toContain(`${person.id} <${person.symphonyEmail}>`);

    // The ledger still keys the moved person's rows by the Symphony address the mailbox was found by.
    const items = await db.importItem.findMany({ where: { sourceMessageId: row.id } });
    expect(items.map((i) => i.mailbox).sort()).toEqual(
      humans.map((p) => (p.external ? p.symphonyEmail : p.symphonyEmail.toLowerCase())).sort(),
    );
  });

  it("never makes the service account a recipient: no ledger row names it", async () => {
    const bot = h.symphony.org.bot;
    const rows = await db.importItem.findMany({ where: { connectorId: h.connector.id } });
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.filter((r) => r.mailbox === bot.symphonyEmail || r.reason?.includes(bot.symphonyEmail))).toEqual([]);
    const messages = await db.sourceMessage.findMany({ where: { connectorId: h.connector.id } });
    expect(messages.filter((m) => m.participants.includes(bot.symphonyEmail))).toEqual([]);
    // ... and nobody else is skipped here: everyone of our company has a mailbox, by an alias for one.
    expect(rows.filter((r) => r.status === "SKIPPED").every((r) => r.reason?.startsWith("external participant"))).toBe(
      true,
    );
  });

  it("the mapping step names the service account apart from the people it maps", async () => {
    // Before consent the check needs Symphony only.
    await db.connector.update({ where: { id: h.connector.id }, data: { consentGrantedAt: null } });
    const check = await checkConnectorMapping(h.connector.id);
    expect(check).toMatchObject({ ok: true, serviceAccount: h.symphony.org.bot.symphonyEmail });
    expect(check.ok && check.report.people).toBe(h.symphony.org.people.length);
  });
});

describe.skipIf(!canRun)("the service account in Content Export files", () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({
      seed: "addresses-export",
      users: 6,
      messages: 40,
      largeAttachments: false,
      contentExport: { delivery: "FILES_API" },
    });
  });
  afterAll(() => h?.close());

  it("is in the files' conversations, yet no ledger row names it", async () => {
    const bot = h.symphony.org.bot;
    const items = h.symphony.contentExport!.expectedItems();
    expect(items.some((item) => item.recipientEmails.includes(bot.symphonyEmail))).toBe(true);

    const summary = await runImport(await h.newRun(), { workerId: "addresses", environment: h.environment });
    expect(summary.status).toBe("SUCCEEDED");
    const rows = await db.importItem.findMany({ where: { connectorId: h.connector.id } });
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.filter((r) => r.mailbox === bot.symphonyEmail || r.reason?.includes(bot.symphonyEmail))).toEqual([]);
  });
});
