import { simpleParser, type AddressObject } from "mailparser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateOrg } from "../org";
import { download, filesToken, itemsOf, pgpDecrypt, readActiance, unzip, type FoundItem } from "./export-test-client";
import { exportModel } from "./export-model";
import { startSymphonySandbox, type ExpectedItem, type SymphonySandbox } from "./index";

const END = Date.UTC(2025, 2, 20, 9, 30);
const ORG = { users: 12, messages: 200, largeAttachments: false, end: END, periodDays: 40 } as const;

const byKey = <T extends { key: string }>(items: T[]) => [...items].sort((a, b) => a.key.localeCompare(b.key));

async function itemsInFile(sandbox: SymphonySandbox, token: string, id: string): Promise<FoundItem[]> {
  const ce = sandbox.contentExport!;
  const zip = await unzip(await pgpDecrypt(ce.pgp, await download(sandbox, token, id)));
  const xml = zip.find((e) => e.name.endsWith(".xml"))!;
  return itemsOf(readActiance((await xml.read()).toString("utf8")));
}

describe("Actiance files against expectedItems()", () => {
  let sandbox: SymphonySandbox;
  let token: string;
  beforeAll(async () => {
    sandbox = await startSymphonySandbox({ seed: "ce-items", org: ORG, contentExport: {} });
    token = await filesToken(sandbox);
  });
  afterAll(() => sandbox.close());

  it("the items an importer derives from every file by the contract are exactly expectedItems()", async () => {
    const ce = sandbox.contentExport!;
    const files = await ce.files();
    const found = new Map<string, FoundItem>();
    for (const file of files) {
      const zip = await unzip(await pgpDecrypt(ce.pgp, await download(sandbox, token, file.id)));
      const xml = (await zip.find((e) => e.name.endsWith(".xml"))!.read()).toString("utf8");
      expect(xml).not.toContain("<!DOCTYPE");
      // Every file transfer's bytes are in the zip at its FileName.
      for (const [, path] of xml.matchAll(/<FileName>([^<]+)<\/FileName>/g))
        expect(zip.map((e) => e.name)).toContain(path!.replace(/&amp;/g, "&"));
      for (const item of itemsOf(readActiance(xml))) found.set(item.key, item);
    }
    const expected = ce.expectedItems();
    expect(expected.length).toBeGreaterThan(200);
    expect(byKey([...found.values()])).toEqual(byKey(expected));

    // Both key paths, edits and attachments are exercised.
    expect(files.some((f) => !f.messageIds) && files.some((f) => f.messageIds)).toBe(true);
    expect(expected.filter((i) => i.key.startsWith("ce-") && i.attachmentNames.length === 0).length).toBeGreaterThan(0);
    expect(expected.filter((i) => i.editOf).length).toBeGreaterThan(0);
    expect(expected.filter((i) => i.attachmentNames.length > 0).length).toBeGreaterThan(0);
    expect(expected.some((i) => i.recipientEmails.some((e) => !e.endsWith("bank.example")))).toBe(true);
  });

  it("an ad-hoc export (milliseconds) of a day repeats that day's items with the same keys", async () => {
    const ce = sandbox.contentExport!;
    const before = ce.expectedItems();
    const recurring = (await ce.files()).find((f) => f.jobType === "SCHEDULED" && !f.messageIds)!;
    const adhoc = await ce.addAdhocExport({ day: new Date(recurring.period.start).toISOString().slice(0, 10) });
    expect(adhoc).toMatchObject({ jobType: "ADHOC", timeUnit: "ms", period: recurring.period });
    const fromAdhoc = await itemsInFile(sandbox, token, adhoc.id);
    const fromRecurring = await itemsInFile(sandbox, token, recurring.id);
    expect(fromAdhoc.length).toBeGreaterThan(0);
    expect(byKey(fromAdhoc)).toEqual(byKey(fromRecurring));
    expect(ce.expectedItems()).toEqual(before);
  });

  it("a re-uploaded file has the same name and bytes under a new id, and adds no item", async () => {
    const ce = sandbox.contentExport!;
    const before = ce.expectedItems();
    const [source] = await ce.files();
    const copy = await ce.reuploadFile(source!.id);
    expect(copy.id).not.toBe(source!.id);
    expect(copy).toMatchObject({ name: source!.name, sha256: source!.sha256, size: source!.size });
    expect(copy.uploadTime).toBeGreaterThan(source!.uploadTime);
    expect(ce.expectedItems()).toEqual(before);
  });
});

describe("presence windows", () => {
  // The same organisation as the sandbox below builds.
  const model = exportModel(generateOrg({ ...ORG, seed: "ce-items" }));
  let sandbox: SymphonySandbox;
  let expected: ExpectedItem[];
  beforeAll(async () => {
    sandbox = await startSymphonySandbox({ seed: "ce-items", org: ORG, contentExport: { encrypt: false } });
    expected = sandbox.contentExport!.expectedItems();
  });
  afterAll(() => sandbox.close());

  const rooms = () =>
    model.org.streams
      .filter((s) => s.type === "ROOM")
      .map((stream) => ({ stream, stays: model.stays(stream) }))
      .filter(({ stays }) => stays.some((s) => s.enter > -Infinity));

  it("a late joiner has none of the earlier messages, and all of the later ones", () => {
    expect(rooms().length).toBeGreaterThan(0);
    let earlier = 0;
    for (const { stream, stays } of rooms()) {
      const joiner = stays.find((s) => s.enter > -Infinity)!;
      const email = joiner.person.symphonyEmail.toLowerCase();
      for (const item of expected.filter((i) => i.conversationId === stream.id)) {
        if (item.sentAt < joiner.enter) earlier++;
        expect(item.recipientEmails.includes(email), `${item.key} at ${item.sentAt}`).toBe(item.sentAt >= joiner.enter);
      }
    }
    expect(earlier).toBeGreaterThan(0);
  });

  it("a leaver has none of the later messages", () => {
    let later = 0;
    for (const { stream, stays } of rooms()) {
      const leaver = stays.find((s) => s.leave < Infinity)!;
      const email = leaver.person.symphonyEmail.toLowerCase();
      for (const item of expected.filter((i) => i.conversationId === stream.id)) {
        if (item.sentAt > leaver.leave) later++;
        expect(item.recipientEmails.includes(email)).toBe(item.sentAt <= leaver.leave);
      }
    }
    expect(later).toBeGreaterThan(0);
  });

  it("everyone else in a conversation receives every message, the sender included", () => {
    for (const item of expected) expect(item.recipientEmails).toContain(item.senderEmail);
    const im = model.org.streams.find((s) => s.type === "IM" && s.messageCount > 0)!;
    const members = im.memberIds.map((id) =>
      [model.org.bot, ...model.org.people].find((p) => p.id === id)!.symphonyEmail.toLowerCase(),
    );
    for (const item of expected.filter((i) => i.conversationId === im.id))
      expect(item.recipientEmails).toEqual([...members].sort());
  });
});

describe("EML files against expectedItems()", () => {
  let sandbox: SymphonySandbox;
  beforeAll(async () => {
    sandbox = await startSymphonySandbox({
      seed: "ce-eml",
      org: { ...ORG, messages: 80 },
      contentExport: { format: "EML", encrypt: false },
    });
  });
  afterAll(() => sandbox.close());

  it("has one message per conversation and day whose headers give the expected item", async () => {
    const ce = sandbox.contentExport!;
    const token = await filesToken(sandbox);
    const found: ExpectedItem[] = [];
    for (const file of await ce.files()) {
      expect(file).toMatchObject({ format: "EML", encrypted: false, encryptionKeyId: null });
      expect(file.name.endsWith(".zip")).toBe(true);
      for (const entry of await unzip(await download(sandbox, token, file.id))) {
        expect(entry.name).toMatch(/^[A-Za-z0-9_-]+\.eml$/);
        const mail = await simpleParser(await entry.read());
        const addresses = (a: AddressObject | AddressObject[] | undefined) =>
          [a ?? []].flat().flatMap((x) => x.value.map((v) => v.address!.toLowerCase()));
        const conversationId = entry.name.replace(/\.eml$/, "");
        expect(mail.headers.get("x-symphony-stream-id")).toBe(conversationId);
        expect(mail.text).toMatch(/^\[\d{4}-/);
        found.push({
          key: mail.messageId!.replace(/^<(.*)>$/, "$1"),
          conversationId,
          sentAt: mail.date!.getTime(),
          senderEmail: addresses(mail.from)[0]!,
          recipientEmails: [...new Set([...addresses(mail.to), ...addresses(mail.from)])].sort(),
          attachmentNames: mail.attachments.map((a) => a.filename!),
        });
      }
    }
    expect(byKey(found)).toEqual(byKey(ce.expectedItems()));
    expect(found.some((i) => i.attachmentNames.length > 0)).toBe(true);
  });
});
