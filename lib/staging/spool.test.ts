import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { createBundleSpool } from "./spool";

function spoolDir() {
  return mkdtempSync(path.join(os.tmpdir(), "spool-test-"));
}

/** Every file the spools under `dir` keep. */
function files(dir: string): string[] {
  return readdirSync(dir).flatMap((folder) =>
    readdirSync(path.join(dir, folder)).map((file) => path.join(dir, folder, file)),
  );
}

describe("bundle spool", () => {
  it("reads back any range of a copy byte for byte, at any alignment", async () => {
    const spool = createBundleSpool({ dir: spoolDir(), maxBytes: 10_000_000 });
    const bundle = randomBytes(100_003);
    await spool.put("b1", bundle);
    for (const [offset, length] of [
      [0, 100_003],
      [1, 15],
      [15, 2],
      [16, 16],
      [33_333, 44_444],
      [99_990, 13],
    ] as const) {
      expect(await spool.read("b1", offset, length)).toEqual(bundle.subarray(offset, offset + length));
    }
    // Past the end: what there is, so the caller can say the range is outside the bundle.
    expect(await spool.read("b1", 99_990, 100)).toEqual(bundle.subarray(99_990));
    expect(await spool.read("unknown", 0, 10)).toBeUndefined();
  });

  it("keeps copies encrypted: the disk never holds the bytes it was given", async () => {
    const dir = spoolDir();
    const spool = createBundleSpool({ dir, maxBytes: 10_000_000 });
    const text = Buffer.from("Subject: quarterly numbers\r\n\r\nThe desk is long 40m bunds.\r\n".repeat(50));
    await spool.put("b1", text);
    const [file] = files(dir);
    const onDisk = readFileSync(file!);
    expect(onDisk.length).toBe(text.length);
    expect(onDisk.includes(Buffer.from("bunds"))).toBe(false);
    expect(await spool.read("b1", 0, text.length)).toEqual(text);
  });

  it("lets the least recently read copy go to stay within its size, and removes its file", async () => {
    const dir = spoolDir();
    const spool = createBundleSpool({ dir, maxBytes: 1000 });
    const [a, b, c] = [randomBytes(400), randomBytes(400), randomBytes(400)];
    await spool.put("a", a);
    await spool.put("b", b);
    expect(await spool.read("a", 0, 10)).toEqual(a.subarray(0, 10));
    await spool.put("c", c);
    expect(await spool.read("b", 0, 10)).toBeUndefined();
    expect(await spool.read("a", 0, 400)).toEqual(a);
    expect(await spool.read("c", 0, 400)).toEqual(c);
    await expect.poll(() => files(dir).length).toBe(2);
    await spool.put("too-big", randomBytes(1001));
    expect(await spool.read("too-big", 0, 1)).toBeUndefined();
  });

  it("keeps at most 16 copies open however many are read, and closes those it lets go", async () => {
    const dir = spoolDir();
    const spool = createBundleSpool({ dir, maxBytes: 40 * 1000 });
    const openInDir = () =>
      readdirSync("/proc/self/fd").filter((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`).startsWith(dir);
        } catch {
          return false; // the descriptor readdir itself used
        }
      }).length;
    const bundles = Array.from({ length: 30 }, () => randomBytes(1000));
    for (const [i, bundle] of bundles.entries()) await spool.put(`b${i}`, bundle);
    for (const [i, bundle] of bundles.entries())
      expect(await spool.read(`b${i}`, 10, 20)).toEqual(bundle.subarray(10, 30));
    await expect.poll(openInDir).toBe(16);
    spool.clear();
    await expect.poll(openInDir).toBe(0);
  });

  it("gives no copy, and fails nothing, when the copy's file is gone", async () => {
    const dir = spoolDir();
    const spool = createBundleSpool({ dir, maxBytes: 10_000 });
    await spool.put("a", randomBytes(100));
    for (const file of files(dir)) writeFileSync(file, ""); // truncated behind the spool's back
    expect(await spool.read("a", 0, 100)).toBeUndefined();
    spool.clear();
    await expect.poll(() => files(dir)).toEqual([]);
  });

  it("refuses a spools' folder that is a link (it could lead anywhere), saying which setting to change", () => {
    const dir = spoolDir();
    const link = path.join(dir, "link");
    symlinkSync(os.tmpdir(), link);
    expect(() => createBundleSpool({ dir: link, maxBytes: 1000 })).toThrow(
      /STAGING_SPOOL_DIR .*link is not a folder of this user/,
    );
  });

  it("removes the folders of spools whose process is gone, and keeps those of running ones", () => {
    const dir = spoolDir();
    const ended = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]);
    const gone = path.join(dir, `${ended.stdout.toString()}-abc123`);
    const running = path.join(dir, `${process.ppid}-def456`);
    for (const folder of [gone, running]) {
      mkdirSync(folder);
      writeFileSync(path.join(folder, "1.bin"), "left behind");
    }
    createBundleSpool({ dir, maxBytes: 1000 });
    expect(existsSync(gone)).toBe(false);
    expect(existsSync(running)).toBe(true);
    expect(readdirSync(dir)).toHaveLength(2);
  });
});
