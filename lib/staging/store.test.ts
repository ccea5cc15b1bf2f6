import { createHash, randomBytes, randomUUID } from "node:crypto";
import diagnostics from "node:diagnostics_channel";
import type { ClientRequest } from "node:http";
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";
import { beforeAll, describe, expect, it } from "vitest";
import { createStagingStore, StagedItemMissingError, stagedBlobName, type StagingStore } from "./store";

const connectionString = process.env.AZURE_STORAGE_CONNECTION_STRING;
const MB = 1024 * 1024;

/** Deterministic bytes generated as they are read; `produced` says how far the reader got. */
function generated(size: number, seed: number, failAt?: number) {
  let produced = 0;
  let state = seed;
  const stream = new Readable({
    read() {
      if (failAt !== undefined && produced >= failAt) return void this.destroy(new Error("source failed"));
      const length = Math.min(64 * 1024, size - produced);
      if (length === 0) return void this.push(null);
      const chunk = Buffer.allocUnsafe(length);
      for (let i = 0; i < length; i++) chunk[i] = (state = (state * 1103515245 + 12345) >>> 0) >>> 24;
      produced += length;
      this.push(chunk);
    },
  });
  return { stream, produced: () => produced };
}

async function digest(stream: NodeJS.ReadableStream): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

const mime = (text: string) => Readable.from([Buffer.from(text)]);

describe.skipIf(!connectionString)("staging store (Azurite)", () => {
  const containerName = `staging-test-${randomUUID().slice(0, 8)}`;
  let store: StagingStore;
  let container: ContainerClient;

  beforeAll(async () => {
    store = await createStagingStore({ connectionString: connectionString!, containerName });
    container = BlobServiceClient.fromConnectionString(connectionString!).getContainerClient(containerName);
  });

  async function names(prefix: string): Promise<string[]> {
    const found: string[] = [];
    for await (const blob of container.listBlobsFlat({ prefix })) found.push(blob.name);
    return found;
  }

  it("creates its container and can be created again", async () => {
    expect(await container.exists()).toBe(true);
    await expect(createStagingStore({ connectionString: connectionString!, containerName })).resolves.toBeDefined();
  });

  it("stages MIME under a safe name derived from connector and message id, as message/rfc822", async () => {
    const content = "Subject: hi\r\n\r\nbody\r\n";
    const staged = await store.stage("conn-a", "kS6Pv+8mHq3/Xy2Wn1bL4Q==", mime(content));
    expect(staged).toEqual({
      blobName: stagedBlobName("conn-a", "kS6Pv+8mHq3/Xy2Wn1bL4Q=="),
      size: Buffer.byteLength(content),
    });
    expect(staged.blobName).toMatch(/^conn-a\/[0-9a-f]{64}\.eml$/);
    const properties = await container.getBlobClient(staged.blobName).getProperties();
    expect(properties.contentType).toBe("message/rfc822");
    expect(await store.exists(staged.blobName)).toBe(true);
    expect(await digest(await store.open(staged.blobName))).toBe(createHash("sha256").update(content).digest("hex"));
  });

  it("is idempotent: staging a message again keeps one blob, the first one", async () => {
    const first = await store.stage("conn-b", "msg-1", mime("first version"));
    const again = await store.stage("conn-b", "msg-1", mime("another rendering, longer"));
    expect(again).toEqual(first);
    expect(await names("conn-b/")).toEqual([first.blobName]);
    expect(await digest(await store.open(first.blobName))).toBe(
      createHash("sha256").update("first version").digest("hex"),
    );
  });

  it("is idempotent under concurrent staging of the same message", async () => {
    const results = await Promise.all(
      Array.from({ length: 5 }, (_, i) => store.stage("conn-c", "msg-race", mime(`copy ${i}`))),
    );
    expect(new Set(results.map((r) => r.blobName)).size).toBe(1);
    expect(new Set(results.map((r) => r.size))).toEqual(new Set([6]));
    expect(await names("conn-c/")).toHaveLength(1);
  });

  it("streams a big item up and back byte-identical", async () => {
    const size = 12 * MB + 12345;
    const staged = await store.stage("conn-d", "big", generated(size, 3).stream);
    expect(staged.size).toBe(size);
    expect(await digest(await store.open(staged.blobName))).toBe(await digest(generated(size, 3).stream));
  });

  it("does not read a big item again when it is already staged", async () => {
    await store.stage("conn-e", "big-again", generated(3 * MB, 5).stream);
    const again = generated(3 * MB, 5);
    expect((await store.stage("conn-e", "big-again", again.stream)).size).toBe(3 * MB);
    expect(again.produced()).toBeLessThan(2 * MB);
  });

  it("leaves no blob behind when the MIME stream fails", async () => {
    await expect(store.stage("conn-f", "small-fail", generated(100_000, 1, 64 * 1024).stream)).rejects.toThrow(
      "source failed",
    );
    await expect(store.stage("conn-f", "big-fail", generated(20 * MB, 1, 9 * MB).stream)).rejects.toThrow(
      "source failed",
    );
    expect(await names("conn-f/")).toEqual([]);
    expect(await store.exists(stagedBlobName("conn-f", "big-fail"))).toBe(false);
  });

  it("purges items older than the cutoff, per connector or for all", async () => {
    const old = await store.stage("conn-g", "old", mime("old"));
    const otherConnector = await store.stage("conn-h", "old", mime("old"));
    await new Promise((resolve) => setTimeout(resolve, 1100)); // Last-Modified has one-second resolution
    const recent = await store.stage("conn-g", "recent", mime("recent"));
    const cutoff = (await container.getBlobClient(recent.blobName).getProperties()).lastModified!;

    expect(await store.purgeOlderThan(cutoff, "conn-g")).toBe(1);
    expect(await store.exists(old.blobName)).toBe(false);
    expect(await store.exists(recent.blobName)).toBe(true);
    expect(await store.exists(otherConnector.blobName)).toBe(true);
    expect(await store.purgeOlderThan(new Date(0))).toBe(0);
  });

  it("keeps old staged items that are still needed", async () => {
    const needed = await store.stage("conn-k", "still-pending", mime("needed"));
    const done = await store.stage("conn-k", "imported", mime("done"));
    const cutoff = new Date(Date.now() + 60_000);
    const asked: string[][] = [];
    const removed = await store.purgeOlderThan(cutoff, "conn-k", (names) => {
      asked.push(names);
      return Promise.resolve(new Set([needed.blobName]));
    });
    expect(removed).toBe(1);
    expect(asked.flat().sort()).toEqual([needed.blobName, done.blobName].sort());
    expect(await store.exists(needed.blobName)).toBe(true);
    expect(await store.exists(done.blobName)).toBe(false);
  });

  it("reads a bundle whole at most twice, then by windows from the entries asked for", async () => {
    const ranges: Array<string | undefined> = [];
    const onStart = (message: unknown) => {
      const { request } = message as { request: ClientRequest };
      if (request.method === "GET" && request.path.includes("/conn-range/"))
        ranges.push(request.getHeader("x-ms-range")?.toString());
    };
    const bundle = randomBytes(300_000);
    const { blobName } = await store.stageBundle("conn-range", bundle);
    // Another worker's store: nothing of the bundle is in its memory.
    const reader = await createStagingStore({ connectionString: connectionString!, containerName });
    diagnostics.subscribe("http.client.request.start", onStart);
    try {
      expect(await reader.readRange(blobName, 1000, 5000)).toEqual(bundle.subarray(1000, 6000));
      expect(await reader.readRange(blobName, 9000, 100)).toEqual(bundle.subarray(9000, 9100));
      expect(ranges).toEqual([undefined]);
      // More bundles read than the worker keeps (24 MB): the first one is let go, read whole once more,
      // let go again, and from then on read by range.
      const others: Array<{ blobName: string }> = [];
      for (let i = 0; i < 4; i++) others.push(await store.stageBundle("conn-range-other", randomBytes(7 * MB)));
      const readOthers = async () => {
        for (const other of others) await reader.readRange(other.blobName, 0, 10);
      };
      await readOthers();
      expect(await reader.readRange(blobName, 100, 10)).toEqual(bundle.subarray(100, 110));
      expect(ranges).toEqual([undefined, undefined]);
      await readOthers();
      // A window from the entry on (256 KB): the entries after it come from memory.
      expect(await reader.readRange(blobName, 20_000, 3000)).toEqual(bundle.subarray(20_000, 23_000));
      expect(await reader.readRange(blobName, 23_000, 40_000)).toEqual(bundle.subarray(23_000, 63_000));
      expect(ranges).toEqual([undefined, undefined, "bytes=20000-282143"]);
      // The window at the bundle's end holds what there is.
      expect(await reader.readRange(blobName, 290_000, 10_000)).toEqual(bundle.subarray(290_000));
      await expect(reader.readRange(blobName, 295_000, 6000)).rejects.toThrow("is outside bundle");
    } finally {
      diagnostics.unsubscribe("http.client.request.start", onStart);
    }
  });

  it("with a spool, reads a bundle from storage once, then from its local copy", async () => {
    const requests: string[] = [];
    const onStart = (message: unknown) => {
      const { request } = message as { request: ClientRequest };
      if (request.method === "GET" && request.path.includes("/conn-spool/")) requests.push(request.path);
    };
    const bundle = randomBytes(300_000);
    const { blobName } = await store.stageBundle("conn-spool", bundle);
    const spool = { dir: mkdtempSync(path.join(os.tmpdir(), "store-spool-")), maxBytes: 64 * MB };
    const reader = await createStagingStore({ connectionString: connectionString!, containerName, spool });
    diagnostics.subscribe("http.client.request.start", onStart);
    try {
      expect(await reader.readRange(blobName, 1000, 5000)).toEqual(bundle.subarray(1000, 6000));
      // More bundles read than the worker keeps in memory (24 MB): the first one is let go, three times.
      const others: Array<{ blobName: string }> = [];
      for (let i = 0; i < 4; i++) others.push(await store.stageBundle("conn-spool-other", randomBytes(7 * MB)));
      for (let round = 0; round < 3; round++) {
        for (const other of others) await reader.readRange(other.blobName, 0, 10);
        expect(await reader.readRange(blobName, 20_000 + round, 3000)).toEqual(
          bundle.subarray(20_000 + round, 23_000 + round),
        );
      }
      expect(requests).toHaveLength(1);
      await expect(reader.readRange(blobName, 299_000, 2000)).rejects.toThrow("is outside bundle");
    } finally {
      diagnostics.unsubscribe("http.client.request.start", onStart);
    }
  });

  it("says clearly when a staged item is missing, with an error of its own", async () => {
    const error: unknown = await store.open("conn-z/missing.eml").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StagedItemMissingError);
    expect((error as Error).message).toContain(
      `the staged copy of the message (conn-z/missing.eml in container ${containerName}) no longer exists`,
    );
  });

  it("rejects unsafe connector ids and container names without echoing the connection string", async () => {
    expect(() => stagedBlobName("../etc", "m")).toThrow(/connector ids/);
    const error: unknown = await createStagingStore({
      connectionString: connectionString!,
      containerName: "Bad_Name",
    }).catch((e: unknown) => e);
    expect(String(error)).toMatch(/container names/);
    expect(String(error)).not.toContain("AccountKey");
  });
});
