// Staged bundles: many messages per blob, read back byte for byte, never lost or doubled by a crash
// between staging and the collect transaction, and kept by retention while one message still waits.
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { Readable } from "node:stream";
import { BlobServiceClient } from "@azure/storage-blob";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildEmail, buildMime, toGraphMessage } from "@/lib/convert";
import { db } from "@/lib/db";
import { createStagingStore, type StagingStore } from "@/lib/staging";
import { canRun, exactlyOnceProblems, ledgerMessage, startHarness, type Harness } from "@/lib/testing";
import { createBundler } from "./bundle";
import { collect } from "./collect";
import { blobsStillNeeded } from "./ledger";
import { createRecipientResolver } from "./recipients";
import { runImport } from "./run";
import { consentedTenant, mailboxWriterFor } from "./services";
import { sourceFor } from "./source-for";
import { importItemFor, openStagedMime, stagedModel } from "./staged-item";

const connectionString = process.env.AZURE_STORAGE_CONNECTION_STRING;
const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}

async function blobNames(containerName: string, prefix: string): Promise<string[]> {
  const container = BlobServiceClient.fromConnectionString(connectionString!).getContainerClient(containerName);
  const names: string[] = [];
  for await (const blob of container.listBlobsFlat({ prefix })) names.push(blob.name);
  return names;
}

/** A one-line chat message from Ann to Bob, as an email. */
function emailOf(messageId: string, text: string) {
  return buildEmail({
    messageId,
    streamId: "stream-1",
    streamType: "IM",
    timestamp: new Date("2026-11-01T10:00:00.123Z"),
    sender: { userId: "1", email: "a@bank.example", displayName: "Ann" },
    participants: [{ userId: "2", email: "b@bank.example", displayName: "Bob" }],
    presentationML: `<div data-format="PresentationML" data-version="2.0"><p>${text}</p></div>`,
    attachments: [],
  });
}

describe.skipIf(!connectionString)("staged bundles (Azurite)", () => {
  const containerName = `bundle-test-${randomUUID().slice(0, 8)}`;
  let store: StagingStore;
  beforeAll(async () => {
    store = await createStagingStore({ connectionString: connectionString!, containerName });
  });

  it("reads every message of a bundle back as its exact bytes, from few blobs", async () => {
    const connectorId = "conn-bytes";
    const bundler = createBundler(store, connectorId, { maxBytes: 64 * 1024, maxMessages: 1000, maxWaitMs: 50 });
    // Random sizes (some empty, some near the byte limit), added concurrently as conversions finish.
    const entries = Array.from({ length: 60 }, (_, i) => randomBytes(i % 7 === 0 ? 0 : (i * 997) % 20_000));
    const locations = await bundler.producer(() =>
      bundler.settle(
        entries.map((mime) => new Promise((r) => setTimeout(r, Math.random() * 20)).then(() => bundler.add({ mime }))),
      ),
    );
    const names = await blobNames(containerName, `${connectorId}/`);
    expect(names.length).toBeGreaterThan(1); // the byte limit split them
    expect(names.length).toBeLessThan(entries.length / 5);
    // As this store kept them and as storage holds them: each bundle's buffer was filled again by a later one.
    const fromStorage = await createStagingStore({ connectionString: connectionString!, containerName });
    for (const reader of [store, fromStorage]) {
      for (const [i, mime] of entries.entries()) {
        const at = { ...locations[i]!, blobOffset: locations[i]!.offset, sizeBytes: mime.length, modelBytes: null };
        expect(sha256(await readAll(await openStagedMime(reader, at))), `entry ${i}`).toBe(sha256(mime));
      }
    }
  });

  it("gives the import the Graph model staged after the MIME, and the MIME as evidence", async () => {
    const email = emailOf("bundle-model-1", "hello");
    const mime = Buffer.from("Subject: evidence\r\n\r\nbody\r\n");
    const model = (await stagedModel(mime, { email, parts: [] }))!;
    const bundler = createBundler(store, "conn-model");
    const [at] = await bundler.settle([bundler.add({ mime: randomBytes(100) }), bundler.add({ mime, model })]);
    const location = { blobName: at!.blobName, blobOffset: 100, sizeBytes: mime.length, modelBytes: model.length };
    const item = await importItemFor(store, "key", location);
    expect(item.graph).toEqual(toGraphMessage(email));
    expect(await readAll(await openStagedMime(store, location))).toEqual(mime);
  });

  it("gives the import each attachment's bytes from the staged model, without reading the MIME again", async () => {
    const email = emailOf("bundle-files-1", "files");
    const files = [randomBytes(70_000), Buffer.alloc(0), Buffer.from("line one\r\nline two\n")];
    const mime = await readAll(
      buildMime(
        email,
        files.map((content, i) => ({
          ref: { id: `file-${i}`, name: `report ${i}.bin`, size: content.length },
          open: () => Readable.from([content]),
        })),
      ),
    );
    const model = (await stagedModel(mime))!;
    const withModel = async (evidence: Buffer, modelBytes: Buffer) => {
      const bundler = createBundler(store, "conn-files");
      const [at] = await bundler.settle([bundler.add({ mime: evidence, model: modelBytes })]);
      const location = {
        blobName: at!.blobName,
        blobOffset: at!.offset,
        sizeBytes: evidence.length,
        modelBytes: modelBytes.length,
      };
      return importItemFor(store, "key", location);
    };
    const contentsOf = async (item: Awaited<ReturnType<typeof importItemFor>>) =>
      Promise.all(item.attachments.map(async (attachment) => sha256(await readAll(await attachment.open()))));

    // The MIME's bytes blanked in the bundle: the files still come whole, from the model.
    const item = await withModel(Buffer.alloc(mime.length, " "), model);
    expect(item.attachments.map(({ name, size }) => ({ name, size }))).toEqual(
      files.map((content, i) => ({ name: `report ${i}.bin`, size: content.length })),
    );
    expect(await contentsOf(item)).toEqual(files.map(sha256));
    // A model staged before the contents were kept (its JSON alone): the files are read from the MIME.
    const json = model.subarray(0, model.indexOf("\n"));
    expect(await contentsOf(await withModel(mime, json))).toEqual(files.map(sha256));
  });

  it("stages the same bytes once, and refuses nothing: a re-run that builds them finds them", async () => {
    const content = randomBytes(1000);
    const first = await store.stageBundle("conn-again", content);
    const again = await store.stageBundle("conn-again", content);
    expect(again).toEqual(first);
    expect(await blobNames(containerName, "conn-again/")).toEqual([first.blobName]);
  });
});

describe.skipIf(!canRun)("bundles and the ledger", () => {
  let h: Harness;
  const name = `bundle-retention-${Date.now()}`;
  beforeAll(async () => {
    h = await startHarness({ seed: "bundle-kill", users: 6, messages: 120 });
  });
  afterAll(async () => {
    await db.connector.deleteMany({ where: { name } });
    await h?.close();
  });

  it("loses and duplicates nothing when the process dies between staging a bundle and its commit", async () => {
    const runId = await h.newRun();
    const staging = await createStagingStore(h.environment.staging);
    const orphans: string[] = [];
    // The bundle is stored, then the process "dies" before the batch's transaction.
    const dying: StagingStore = {
      ...staging,
      async stageBundle(connectorId, content) {
        orphans.push((await staging.stageBundle(connectorId, content)).blobName);
        throw new Error("killed after staging, before the commit");
      },
    };
    const writer = mailboxWriterFor(consentedTenant(h.connector), h.environment);
    const source = await sourceFor(h.connector, { runId, staging: dying });
    const recipientsOf = createRecipientResolver(writer, {
      mappingMode: h.connector.mappingMode,
      csv: new Map(),
      fallbackMailbox: h.connector.fallbackMailbox,
    });
    await expect(
      collect({ connectorId: h.connector.id, runId, staging: dying, recipientsOf, parallelism: 8 }, source).finally(
        () => source.close(),
      ),
    ).rejects.toThrow("killed after staging");
    expect(orphans.length).toBeGreaterThan(0);
    expect(await db.sourceMessage.count({ where: { connectorId: h.connector.id } })).toBe(0);

    const summary = await runImport(runId, { workerId: "bundle-test", environment: h.environment });
    expect(summary.status).toBe("SUCCEEDED");
    const { report, problems } = await exactlyOnceProblems(h);
    expect(report.expected).toBeGreaterThan(0);
    expect(problems).toEqual([]);

    // Every message but a big one points into a bundle, read back as the MIME of that very message;
    // far fewer blobs than messages.
    const rows = await db.sourceMessage.findMany({ where: { connectorId: h.connector.id, blobName: { not: "" } } });
    expect(rows.length).toBe((await h.expected()).length);
    for (const row of rows) {
      if (row.blobOffset === null) expect(Number(row.sizeBytes), row.messageId).toBeGreaterThan(1024 * 1024);
      const mime = (await readAll(await openStagedMime(staging, row))).toString("latin1");
      expect(mime.toLowerCase()).toContain(`\r\nx-symphony-message-id: ${row.messageId.toLowerCase()}\r\n`);
    }
    const bundles = new Set(rows.map((row) => row.blobName));
    expect(bundles.size).toBeLessThan(rows.length / 5);
  });

  it("keeps a bundle while one of its messages still has an item to import", async () => {
    const connector = await db.connector.create({ data: { name, createdBy: "test" } });
    const staging = await createStagingStore(h.environment.staging);
    const waiting = await staging.stageBundle(connector.id, randomBytes(300));
    const done = await staging.stageBundle(connector.id, randomBytes(300));
    const message = (messageId: string, blobName: string, blobOffset: number, status: "PENDING" | "IMPORTED") =>
      ledgerMessage(connector.id, { messageId, blobName, blobOffset, sizeBytes: 100, status });
    await message("imported-1", waiting.blobName, 0, "IMPORTED");
    await message("still-pending", waiting.blobName, 100, "PENDING");
    await message("imported-2", done.blobName, 0, "IMPORTED");
    await message("imported-3", done.blobName, 100, "IMPORTED");

    const removed = await staging.purgeOlderThan(new Date(Date.now() + 60_000), connector.id, blobsStillNeeded);
    expect(removed).toBe(1);
    expect(await staging.exists(waiting.blobName)).toBe(true);
    expect(await staging.exists(done.blobName)).toBe(false);
  });
});
