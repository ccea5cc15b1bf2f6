// Content Export end to end: the sandbox's export files (Files API or SFTP; Actiance or EML; PGP) read
// by the pipeline into the Microsoft 365 sandbox, exactly once per mailbox, with the file ledger as
// checkpoint and each hostile or broken file failing alone.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { reconciliationCsv, exportFileReports } from "@/lib/connectors";
import { db } from "@/lib/db";
import { runImport } from "./run";
import { canRun, exactlyOnceProblems, startHarness, type Harness } from "@/lib/testing";

if (!canRun) console.warn("lib/pipeline content export tests skipped: needs vitest's globalSetup");

async function run(h: Harness) {
  return runImport(await h.newRun(), { workerId: "content-export-test", environment: h.environment });
}

function shown(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? String(v) : v));
}

function exports(h: Harness) {
  if (!h.symphony.contentExport) throw new Error("the harness has no Content Export");
  return h.symphony.contentExport;
}

async function files(h: Harness) {
  return db.exportFile.findMany({ where: { connectorId: h.connector.id }, orderBy: { id: "asc" } });
}

describe.skipIf(!canRun)("Content Export through the Files API (Actiance XML, PGP)", () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({
      seed: "content-export",
      users: 10,
      messages: 120,
      largeAttachments: false,
      contentExport: { delivery: "FILES_API" },
    });
  });
  afterAll(() => h?.close());

  it("imports every message of every file once per present participant's mailbox", async () => {
    const summary = await run(h);
    expect(summary.status, shown(summary)).toBe("SUCCEEDED");
    const { report, problems } = await exactlyOnceProblems(h);
    expect(problems).toEqual([]);
    expect(summary.counts.imported).toBe(report.expected);
    expect(summary.messagesCollected).toBe(exports(h).expectedItems().length);

    const ledger = await files(h);
    expect(ledger.length).toBeGreaterThan(1);
    for (const file of ledger) {
      expect(file, file.name).toMatchObject({ status: "DONE", reason: null, format: "ACTIANCE" });
      expect(file.verifiedBy).toContain("sha256");
      expect(file.blobName).toBeTruthy(); // the file as received is kept
    }
  });

  it("honours presence: a participant only receives what was said while they were in the conversation", async () => {
    const items = exports(h).expectedItems();
    const byConversation = new Map<string, Set<string>>();
    for (const item of items) {
      const everyone = byConversation.get(item.conversationId) ?? new Set<string>();
      item.recipientEmails.forEach((email) => everyone.add(email));
      byConversation.set(item.conversationId, everyone);
    }
    // Someone who was in a conversation but not present for one of its messages...
    const absent = items.flatMap((item) =>
      [...byConversation.get(item.conversationId)!]
        .filter((email) => !item.recipientEmails.includes(email))
        .map((email) => ({ item, email })),
    );
    expect(absent.length).toBeGreaterThan(0);
    // ...has no ledger row for it: the ledger follows the presence windows, not today's members.
    for (const { item, email } of absent.slice(0, 50)) {
      const rows = await db.importItem.count({
        where: { connectorId: h.connector.id, mailbox: email, sourceMessage: { messageId: item.key } },
      });
      expect(rows, `${email} was not present for ${item.key}`).toBe(0);
    }
  });

  it("imports nothing new from an overlapping ad-hoc export or a file uploaded twice", async () => {
    const before = await db.importItem.count({ where: { connectorId: h.connector.id } });
    const day = new Date(exports(h).expectedItems()[0]!.sentAt).toISOString().slice(0, 10);
    const adhoc = await exports(h).addAdhocExport({ day });
    const first = (await exports(h).files()).find((file) => file.jobType === "SCHEDULED")!;
    const again = await exports(h).reuploadFile(first.id);

    const summary = await run(h);
    expect(summary.status).toBe("SUCCEEDED");
    expect(summary.messagesCollected).toBe(0);
    expect(await db.importItem.count({ where: { connectorId: h.connector.id } })).toBe(before);
    expect((await exactlyOnceProblems(h)).problems).toEqual([]);
    const reports = await exportFileReports(h.connector.id);
    for (const added of [adhoc, again]) {
      const file = reports.find((report) => report.name === added.name && report.status === "DONE");
      expect(file).toBeDefined();
      expect(file!.messagesInFile).toBeGreaterThan(0);
      expect(file!.messagesLedgered).toBe(file!.messagesInFile);
    }
  });

  const faults = [
    ["truncated", /cut short|integrity check failed/],
    ["hash-mismatch", /integrity check failed/],
    ["wrong-key", /key/i],
    ["zip-bomb", /ratio|uncompressed|too large|bomb/i],
    ["path-traversal", /unsafe path/],
    ["malformed-xml", /XML|line/],
    ["xxe", /DOCTYPE/],
    ["symphony-xml", /Symphony XML is not supported yet: choose Actiance or EML/],
  ] as const;

  it.each(faults)(
    "fails a file with a %s fault alone and imports it once the fault is cleared",
    async (fault, reason) => {
      await run(h); // everything else already imported: this run reads only the faulty file
      const faulty = await exports(h).addFaultyFile(fault);
      const before = await db.sourceMessage.count({ where: { connectorId: h.connector.id } });
      const summary = await run(h);
      expect(summary.status).toBe("PARTIAL");
      const row = await db.exportFile.findFirstOrThrow({
        where: { connectorId: h.connector.id, name: faulty.name, status: { not: "DONE" } },
      });
      expect(row.status).toBe("FAILED");
      expect(row.reason).toMatch(reason);
      expect(await db.exportFileMessage.count({ where: { exportFileId: row.id } })).toBe(0);
      expect(await db.sourceMessage.count({ where: { connectorId: h.connector.id } })).toBe(before);

      if (fault === "symphony-xml") return; // nothing to clear: the admin must change the export's format
      await exports(h).setFileFault(faulty.id, null);
      const next = await run(h);
      const failed = await db.exportFile.findMany({ where: { connectorId: h.connector.id, status: "FAILED" } });
      expect(next.status, shown({ next, failed })).toBe("SUCCEEDED");
      const fixed = await db.exportFile.findUniqueOrThrow({ where: { id: row.id } });
      expect(fixed).toMatchObject({ status: "DONE", reason: null });
      expect(await db.exportFileMessage.count({ where: { exportFileId: row.id } })).toBe(fixed.messagesInFile);
      expect((await exactlyOnceProblems(h)).problems).toEqual([]);
    },
  );

  it("leaves a file still being written for a later run", async () => {
    const writing = await exports(h).addFaultyFile("being-written");
    await run(h);
    expect(await db.exportFile.count({ where: { connectorId: h.connector.id, name: writing.name } })).toBe(0);
    await exports(h).setFileFault(writing.id, null);
    await run(h);
    expect(
      await db.exportFile.findFirstOrThrow({ where: { connectorId: h.connector.id, name: writing.name } }),
    ).toMatchObject({ status: "DONE" });
  });

  it("gives a reconciliation report whose figures are the ledger's", async () => {
    const reports = await exportFileReports(h.connector.id);
    const csv = await reconciliationCsv(h.connector.id);
    expect(csv.trim().split("\r\n")).toHaveLength(reports.length + 1);
    for (const file of reports.filter((report) => report.status === "DONE")) {
      const imported = await db.importItem.count({
        where: { status: "IMPORTED", sourceMessage: { inFiles: { some: { exportFileId: file.id } } } },
      });
      const ledgered = await db.exportFileMessage.count({ where: { exportFileId: file.id } });
      expect(file.items.imported, file.name).toBe(imported);
      expect(file.messagesLedgered).toBe(ledgered);
      expect(file.mismatch).toBe(false);
      expect(csv).toContain(file.name);
    }
    expect(csv).not.toContain("MESSAGES IN FILE != MESSAGES LEDGERED");
  });
});

describe.skipIf(!canRun)("Content Export over SFTP (EML)", () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({
      seed: "content-export-sftp",
      users: 8,
      messages: 60,
      largeAttachments: false,
      contentExport: { delivery: "SFTP", format: "EML" },
    });
  });
  afterAll(() => h?.close());

  it("imports each conversation's EML once per mailbox and never touches the server's files", async () => {
    const summary = await run(h);
    expect(summary.status, shown(summary)).toBe("SUCCEEDED");
    expect((await exactlyOnceProblems(h)).problems).toEqual([]);
    for (const file of await files(h)) {
      expect(file).toMatchObject({ status: "DONE", format: "EML" });
      expect(file.verifiedBy).toContain("md5");
    }
    expect(exports(h).sftpStats).toMatchObject({ removes: 0, renames: 0, writes: 0 });
    const second = await run(h);
    expect(second.messagesCollected).toBe(0);
  });

  it("refuses a server whose host key changed", async () => {
    await db.connector.update({
      where: { id: h.connector.id },
      data: { sftpHostKeySha256: "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" },
    });
    await expect(run(h)).rejects.toThrow(/host key/i);
  });
});
