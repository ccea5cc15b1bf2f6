import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { BlobServiceClient } from "@azure/storage-blob";
import { afterEach, describe, expect, it } from "vitest";
import { startAzurite, type AzuriteHandle } from "./azurite";

// `npm start`'s embedded Azurite: a crash must not leave the worker staging into nothing until an
// operator notices.
describe("embedded Azurite kept running", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "azurite-kept-"));
  let azurite: AzuriteHandle | undefined;
  afterEach(async () => {
    await azurite?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("starts again on the same port with the blobs it had saved, after it is killed", async () => {
    const events: string[] = [];
    azurite = await startAzurite({ dir, keepRunning: { shouldRestart: () => true, onEvent: (e) => events.push(e) } });
    const container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient("kept");
    await container.createIfNotExists();
    await container.getBlockBlobClient("item").upload("staged before the crash", 23);
    await sleep(6_000); // Azurite saves its blob index every 5 s; a blob newer than that may be lost
    const first = azurite.pid()!;
    process.kill(first, "SIGKILL");

    const deadline = Date.now() + 30_000;
    let text: string | undefined;
    while (text === undefined && Date.now() < deadline) {
      text = await container
        .getBlockBlobClient("item")
        .downloadToBuffer()
        .then((buffer) => buffer.toString())
        .catch(() => undefined);
      if (text === undefined) await sleep(200);
    }
    expect(text).toBe("staged before the crash");
    expect(azurite.pid()).not.toBe(first);
    expect(events).toEqual([
      `Azurite stopped unexpectedly (SIGKILL); starting it again on port ${azurite.port}`,
      `Azurite is running again on port ${azurite.port}`,
    ]);
  }, 60_000);

  it("stays stopped after stop()", async () => {
    const events: string[] = [];
    azurite = await startAzurite({ dir, keepRunning: { shouldRestart: () => true, onEvent: (e) => events.push(e) } });
    const pid = azurite.pid()!;
    await azurite.stop();
    await sleep(1_500);
    expect(() => process.kill(pid, 0)).toThrow();
    expect(events).toEqual([]);
  });

  it("is not started again when the supervisor is stopping (a Ctrl-C reaches Azurite too)", async () => {
    let stopping = false;
    const events: string[] = [];
    azurite = await startAzurite({
      dir,
      keepRunning: { shouldRestart: () => !stopping, onEvent: (e) => events.push(e) },
    });
    const pid = azurite.pid()!;
    stopping = true;
    process.kill(pid, "SIGINT");
    await sleep(2_500);
    expect(() => process.kill(pid, 0)).toThrow();
    expect(azurite.pid()).toBe(pid);
    expect(events).toEqual([]);
  });

  it("stops a restart under way: no Azurite is left running", async () => {
    const events: string[] = [];
    azurite = await startAzurite({ dir, keepRunning: { shouldRestart: () => true, onEvent: (e) => events.push(e) } });
    const first = azurite.pid()!;
    process.kill(first, "SIGKILL");
    await sleep(1_300); // past the first restart's delay: the new Azurite is being started
    await azurite.stop();
    const last = azurite.pid()!;
    await sleep(1_500);
    for (const pid of [first, last]) expect(() => process.kill(pid, 0)).toThrow();
  });
});
