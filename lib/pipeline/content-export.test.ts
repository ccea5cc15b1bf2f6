// Content Export end to end: the sandbox's export files (Files API or SFTP; Actiance or EML; PGP) read
// by the pipeline into the Microsoft 365 sandbox, exactly once per mailbox, with the file ledger as
// checkpoint and each hostile or broken file failing alone.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { reconciliationCsv, exportFileReports } from "@/lib/connectors";
import type { ExportDelivery, RemoteExportFile } from "@/lib/content-export";
import { db } from "@/lib/db";
import { runImport } from "./run";
import { failedFilesOf, syncExportFiles } from "./export-files";
import { exportDeliveryFor } from "./services";
import { canRun, exactlyOnceProblems, graphGet, startHarness, type Harness } from "@/lib/testing";

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

/** An organisation of 10 people and 120 messages, exported daily (Actiance, PGP) through the Files API. */
function filesApiHarness(seed: string) {
  return startHarness({
    seed,
    users: 10,
    messages: 120,
    largeAttachments: false,
    contentExport: { delivery: "FILES_API" },
  });
}

async function files(h: Harness) {
  return db.exportFile.findMany({ where: { connectorId: h.connector.id }, orderBy: { id: "asc" } });
}

describe.skipIf(!canRun)("Content Export through the Files API (Actiance XML, PGP)", () => {
  let h: Harness;

  beforeAll(async () => {
    h = await filesApiHarness("content-export");
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

  // The Files API spec requires only a file's id, name and type: a pod that never publishes the hash
  // must not leave every file waiting as "being written".
  it("reads a file listed without an integrity hash once its upload is two hours old, saying no hash verified it", async () => {
    const unhashed = await exports(h).addFaultyFile("no-integrity-hash", { uploadTime: Date.now() - 3 * 3_600_000 });
    const recent = await exports(h).addFaultyFile("no-integrity-hash");
    const summary = await run(h);
    expect(summary.status, shown(summary)).toBe("SUCCEEDED");
    const ledger = await files(h);
    expect(ledger.find((file) => file.name === unhashed.name)).toMatchObject({
      status: "DONE",
      expectedSha256: null,
      verifiedBy: [],
      messagesInFile: expect.any(Number) as unknown,
    });
    expect(ledger.find((file) => file.name === unhashed.name)!.messagesInFile).toBeGreaterThan(0);
    // Uploaded moments ago: taken as still being written, for a later run.
    expect(ledger.some((file) => file.name === recent.name)).toBe(false);
    expect((await exactlyOnceProblems(h)).problems).toEqual([]);
    const report = (await exportFileReports(h.connector.id)).find((file) => file.name === unhashed.name);
    expect(report).toMatchObject({ verifiedBy: [], mismatch: false });
  });

  it("reads a file listed with no upload time, size or hash two hours after a run first listed it", async () => {
    const bare = await exports(h).addFaultyFile("no-upload-time");
    expect((await run(h)).status).toBe("SUCCEEDED");
    expect((await files(h)).some((file) => file.name === bare.name)).toBe(false);
    const sighting = await db.exportFileSighting.findUniqueOrThrow({
      where: { connectorId_sourceId: { connectorId: h.connector.id, sourceId: bare.id } },
    });
    // A later run within the two hours keeps when it was first listed, and still waits.
    expect((await run(h)).status).toBe("SUCCEEDED");
    expect((await files(h)).some((file) => file.name === bare.name)).toBe(false);
    expect(
      await db.exportFileSighting.findUniqueOrThrow({
        where: { connectorId_sourceId: { connectorId: h.connector.id, sourceId: bare.id } },
      }),
    ).toEqual(sighting);

    // Two hours on (the sighting moved back), it is read without them and imported.
    await db.exportFileSighting.update({
      where: { connectorId_sourceId: { connectorId: h.connector.id, sourceId: bare.id } },
      data: { firstListedAt: new Date(Date.now() - 3 * 3_600_000) },
    });
    const summary = await run(h);
    expect(summary.status, shown(summary)).toBe("SUCCEEDED");
    const row = (await files(h)).find((file) => file.name === bare.name);
    expect(row).toMatchObject({ status: "DONE", uploadTime: null, verifiedBy: [] });
    expect(row!.messagesInFile).toBeGreaterThan(0);
    // Read: its sighting is dropped, and the next listings go back to asking for recent uploads only.
    expect(await db.exportFileSighting.count({ where: { connectorId: h.connector.id } })).toBe(0);
    expect((await exactlyOnceProblems(h)).problems).toEqual([]);
  });

  it("reuses a copy staged before the file's hash was published, once that hash is the copy's, and says the hash verified it", async () => {
    const late = await exports(h).addFaultyFile("no-integrity-hash", { uploadTime: Date.now() - 3 * 3_600_000 });
    expect((await run(h)).status).toBe("SUCCEEDED");
    const row = (await files(h)).find((file) => file.name === late.name)!;
    expect(row).toMatchObject({ status: "DONE", verifiedBy: [] });

    // A run stopped after the download leaves the file DOWNLOADED with its staged copy; the pod then
    // publishes the file's hash and .md5, and its signed URLs come expired: only the copy can be read.
    await db.exportFile.update({ where: { id: row.id }, data: { status: "DOWNLOADED" } });
    const published = await exports(h).setFileFault(late.id, "expired-url");
    const summary = await run(h);
    expect(summary.status, shown(summary)).toBe("SUCCEEDED");
    expect((await files(h)).find((file) => file.id === row.id)).toMatchObject({
      status: "DONE",
      expectedSha256: published.sha256,
      verifiedBy: ["sha256", "md5"],
    });

    // A copy of another size than the one listed now is not reused: the file is downloaded again
    // (refused here, its URLs expired, so it fails), and imported once it can be.
    await db.exportFile.update({
      where: { id: row.id },
      data: { status: "DOWNLOADED", receivedBytes: BigInt(published.size - 1) },
    });
    expect((await run(h)).status).toBe("PARTIAL");
    expect((await files(h)).find((file) => file.id === row.id)).toMatchObject({ status: "FAILED" });
    await exports(h).setFileFault(late.id, null);
    expect((await run(h)).status).toBe("SUCCEEDED");
    expect((await files(h)).find((file) => file.id === row.id)).toMatchObject({
      status: "DONE",
      receivedBytes: BigInt(published.size),
    });
    expect((await exactlyOnceProblems(h)).problems).toEqual([]);
  });

  it("fails whole a file still being written two hours after its upload, importing none of it, and imports it once complete", async () => {
    const stuck = await exports(h).addFaultyFile("being-written", { uploadTime: Date.now() - 3 * 3_600_000 });
    const summary = await run(h);
    expect(summary.status, shown(summary)).toBe("PARTIAL");
    const failed = (await files(h)).find((file) => file.name === stuck.name);
    expect(failed).toMatchObject({ status: "FAILED", messagesInFile: null });
    expect(await db.exportFileMessage.count({ where: { exportFileId: failed!.id } })).toBe(0);

    await exports(h).setFileFault(stuck.id, null);
    expect((await run(h)).status).toBe("SUCCEEDED");
    expect((await files(h)).find((file) => file.name === stuck.name)).toMatchObject({
      status: "DONE",
      verifiedBy: expect.arrayContaining(["sha256"]) as unknown,
    });
    expect((await exactlyOnceProblems(h)).problems).toEqual([]);
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

    // A message of a file that is missing from the ledger is flagged (here: one link removed by hand).
    const file = reports.find((report) => report.status === "DONE" && (report.messagesInFile ?? 0) > 0)!;
    const link = await db.exportFileMessage.findFirstOrThrow({ where: { exportFileId: file.id } });
    await db.exportFileMessage.delete({
      where: {
        exportFileId_sourceMessageId: { exportFileId: link.exportFileId, sourceMessageId: link.sourceMessageId },
      },
    });
    const flagged = (await exportFileReports(h.connector.id)).find((report) => report.id === file.id)!;
    expect(flagged).toMatchObject({ mismatch: true, messagesLedgered: file.messagesLedgered - 1 });
    const line = (await reconciliationCsv(h.connector.id)).split("\r\n").find((row) => row.includes(file.name));
    expect(line).toContain("MESSAGES IN FILE != MESSAGES LEDGERED");
  });
});

describe.skipIf(!canRun)("Content Export files that are broken, hostile or cannot be downloaded", () => {
  let h: Harness;

  beforeAll(async () => {
    h = await filesApiHarness("content-export-faults");
  });
  afterAll(() => h?.close());

  const faults = [
    ["truncated", /^integrity check failed: the SHA-256 .* \(\d+ of \d+ bytes received\)/],
    [
      "hash-mismatch",
      /^integrity check failed: the SHA-256 of the downloaded file is [0-9a-f]{64}, Symphony published/,
    ],
    ["wrong-key", /^the file is encrypted to PGP key [0-9a-f]+, not to the configured decryption key \([0-9a-f, ]+\)$/],
    ["zip-bomb", /compression ratio .* a zip bomb$/],
    ["path-traversal", /^zip entry "\.\.\/\.\.\/evil\.txt" has an unsafe path/],
    ["malformed-xml", /^the XML is malformed at /],
    ["xxe", /DOCTYPE/],
    [
      "symphony-xml",
      /^Symphony XML is not supported yet: choose Actiance or EML in the Admin Portal's Export Content settings/,
    ],
    [
      "expired-url",
      /^the download failed: .*the storage refused a freshly signed download URL; nothing was imported from it and it is downloaded again next run$/,
    ],
  ] as const;

  it("ignores the files whose content ended before the connector's start date", async () => {
    const scheduled = (await exports(h).files()).filter((file) => file.jobType === "SCHEDULED");
    const startDate = new Date(scheduled[3]!.period.end);
    const other = await db.connector.create({ data: { name: `start-date-${Date.now()}`, createdBy: "test" } });
    const delivery = exportDeliveryFor(h.connector);
    try {
      await syncExportFiles(other.id, delivery, { startDate });
      const recorded = await db.exportFile.findMany({ where: { connectorId: other.id }, select: { sourceId: true } });
      const ids = new Set(recorded.map((row) => row.sourceId));
      for (const file of scheduled) expect(ids.has(file.id), file.name).toBe(file.period.end > startDate.getTime());
      expect(ids.size).toBeGreaterThan(0);
    } finally {
      await delivery.close();
      await db.connector.delete({ where: { id: other.id } });
    }
  });

  it("records a file the listing cannot vouch for as failed with why, takes a name with NUL, and leaves both out of the run", async () => {
    const other = await db.connector.create({ data: { name: `listing-problems-${Date.now()}`, createdBy: "test" } });
    const listed = (sourceId: string, name: string, problem?: string): RemoteExportFile => ({
      sourceId,
      name,
      size: 10,
      integrityHash: "a".repeat(64),
      md5: null,
      uploadTime: new Date("2026-11-02T10:00:00Z"),
      format: "ACTIANCE",
      jobType: "SCHEDULED",
      periodStart: null,
      periodEnd: null,
      generatedAt: null,
      encryptionKeyId: null,
      encrypted: false,
      ...(problem && { problem }),
    });
    let problem: string | undefined = "its checksum file c.zip.md5 could not be read: HTTP 403";
    const delivery: ExportDelivery = {
      listReady: () =>
        Promise.resolve({ ready: [listed("1", "a\u0000.zip"), listed("2", "c.zip", problem)], stillWriting: [] }),
      open: () => Promise.reject(new Error("not downloaded here")),
      close: () => Promise.resolve(),
    };
    try {
      const run = await db.importRun.create({ data: { connectorId: other.id, trigger: "MANUAL", status: "RUNNING" } });
      const { files } = await syncExportFiles(other.id, delivery, { startDate: null, runId: run.id });
      expect(files.map((file) => file.name)).toEqual(["a\\u0000.zip"]);
      expect(await db.exportFile.findFirst({ where: { connectorId: other.id, sourceId: "2" } })).toMatchObject({
        status: "FAILED",
        reason: problem,
      });
      // A file of this run: the run's summary names it (and the run is not SUCCEEDED).
      expect(await failedFilesOf(run.id)).toEqual([{ name: "c.zip", reason: problem }]);
      // Listed well again: the file is taken, and its next attempt goes on from there.
      problem = undefined;
      const again = await syncExportFiles(other.id, delivery, { startDate: null });
      expect(again.files.map((file) => file.name).sort()).toEqual(["a\\u0000.zip", "c.zip"]);
    } finally {
      await db.connector.delete({ where: { id: other.id } });
    }
  });

  it("fails each faulty file alone with its reason, imports nothing of it, and imports it once the fault is cleared", async () => {
    // Recurring files not yet imported: what each would bring is new, so a partial import would show.
    const scheduled = (await exports(h).files()).filter((file) => file.jobType === "SCHEDULED");
    if (scheduled.length < faults.length + 2) throw new Error(`only ${scheduled.length} daily files`);
    const faulty = faults.map(([fault, reason], i) => ({ fault, reason, file: scheduled[i]! }));
    for (const { fault, file } of faulty) await exports(h).setFileFault(file.id, fault);
    // Two more files: one with a file transfer's entry damaged (its bytes do not match the zip's
    // CRC-32), one with a transfer that ended as Failed and has no bytes in the zip.
    const transferFaults: Array<{ id: string; transfer: string; reason: RegExp }> = [];
    for (const file of scheduled.slice(faults.length + 1)) {
      const [fault, reason] =
        transferFaults.length === 0
          ? (["damaged-transfer", /could not be read from the export file: zip entry/] as const)
          : (["failed-transfer", /but its zip does not hold it/] as const);
      const { damagedTransfer } = await exports(h).setFileFault(file.id, fault);
      if (damagedTransfer) transferFaults.push({ id: file.id, transfer: damagedTransfer, reason });
      else await exports(h).setFileFault(file.id, null);
      if (transferFaults.length === 2) break;
    }
    if (transferFaults.length < 2) throw new Error("fewer than two daily files have a file transfer");

    const summary = await run(h);
    expect(summary.status, shown(summary)).toBe("PARTIAL");
    // Every good file's (message, mailbox) pairs once; none of a faulty file's (the sandbox leaves those out).
    const before = await exactlyOnceProblems(h);
    expect(before.problems).toEqual([]);
    const ledger = await files(h);
    for (const { fault, reason, file } of faulty) {
      const row = ledger.find((candidate) => candidate.sourceId === file.id);
      expect(row, fault).toMatchObject({ status: "FAILED" });
      expect(row!.reason, fault).toMatch(reason);
      expect(await db.exportFileMessage.count({ where: { exportFileId: row!.id } }), fault).toBe(0);
    }
    expect(ledger.filter((row) => row.status === "DONE")).toHaveLength(ledger.length - faulty.length);
    // Each faulty transfer fails alone, saying why; the rest of its file is imported (checked above).
    const failedItems = await db.importItem.findMany({
      where: { connectorId: h.connector.id, status: "FAILED" },
      select: { reason: true, sourceMessage: { select: { attachmentNames: true } } },
    });
    for (const { id, transfer, reason } of transferFaults) {
      expect(ledger.find((row) => row.sourceId === id)).toMatchObject({ status: "DONE", reason: null });
      const name = transfer.split("/").at(-1)!;
      const ofTransfer = failedItems.filter((item) => item.reason?.includes(`"${transfer}"`));
      expect(ofTransfer.length, transfer).toBeGreaterThan(0);
      for (const item of ofTransfer) {
        expect(item.sourceMessage.attachmentNames).toEqual([name]);
        expect(item.reason).toMatch(reason);
      }
    }
    expect(
      failedItems.every((item) => transferFaults.some(({ transfer }) => item.reason?.includes(`"${transfer}"`))),
    ).toBe(true);

    for (const { file } of faulty) await exports(h).setFileFault(file.id, null);
    // The damaged transfer's file was read: it is not read again, and its items stay FAILED.
    const next = await run(h);
    const failed = await db.exportFile.findMany({ where: { connectorId: h.connector.id, status: { not: "DONE" } } });
    expect(next.status, shown({ next, failed })).toBe("SUCCEEDED");
    const after = await exactlyOnceProblems(h);
    expect(after.problems).toEqual([]);
    expect(after.report.expected).toBeGreaterThan(before.report.expected);
    for (const row of await files(h)) {
      expect(row, row.name).toMatchObject({ status: "DONE", reason: null });
      expect(await db.exportFileMessage.count({ where: { exportFileId: row.id } })).toBe(row.messagesInFile);
    }
  });

  it("stops the run while the file list keeps failing, and goes on once it answers", async () => {
    const day = new Date(exports(h).expectedItems().at(-1)!.sentAt).toISOString().slice(0, 10);
    const before = await db.sourceMessage.count({ where: { connectorId: h.connector.id } });
    const adhoc = await exports(h).addAdhocExport({ day });
    const runId = await h.newRun();
    const options = { workerId: "content-export-test", environment: h.environment };
    exports(h).setExportFaults({ listServerErrorShare: 1 });
    try {
      // The run stops (to be retried by its job) rather than end as if there were no new files.
      await expect(runImport(runId, options)).rejects.toThrow(/HTTP 500/);
      expect(await db.exportFile.count({ where: { connectorId: h.connector.id, sourceId: adhoc.id } })).toBe(0);
    } finally {
      exports(h).setExportFaults({ listServerErrorShare: 0 });
    }
    const next = await runImport(runId, options);
    expect(next.status, shown(next)).toBe("SUCCEEDED");
    const row = await db.exportFile.findFirstOrThrow({ where: { connectorId: h.connector.id, sourceId: adhoc.id } });
    expect(row).toMatchObject({ status: "DONE" });
    // The ad-hoc file repeats a day already imported: nothing new, and nothing twice.
    expect(await db.sourceMessage.count({ where: { connectorId: h.connector.id } })).toBe(before);
    expect((await exactlyOnceProblems(h)).problems).toEqual([]);
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
    // Each EML's transcript is its text part alone: every item shows it as text, line for line.
    let bodies = 0;
    for (const user of h.m365.mailboxes()) {
      for (const item of h.m365.items(user.mail) ?? []) {
        const path = `/users/${encodeURIComponent(user.mail)}/messages/${encodeURIComponent(item.id)}?$select=body`;
        const response = await graphGet(h, path);
        expect(response.status, path).toBe(200);
        const { body } = (await response.json()) as { body: { contentType: string; content: string } };
        expect(body.contentType, item.subject).toBe("text");
        expect(body.content, item.subject).toMatch(/^\[\d{4}-\d\d-\d\dT[\d:.]+Z\] .+ <[^>]+@[^>]+>( \(edited\))?: /);
        bodies++;
      }
    }
    expect(bodies).toBeGreaterThan(0);
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
