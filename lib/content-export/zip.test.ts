import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExportFileError } from "./errors";
import {
  declareUncompressedSize,
  patchBytes,
  readAll,
  tempDir,
  writeZip,
  zeros,
  type ZipFixtureEntry,
} from "./test-files";
import { openExportZip, type ZipLimits } from "./zip";

const MiB = 1024 * 1024;
let dir: string;
let remove: () => Promise<void>;
let counter = 0;

beforeAll(async () => ({ dir, remove } = await tempDir()));
afterAll(() => remove());

const zipOf = (entries: ZipFixtureEntry[]) => writeZip(path.join(dir, `z${++counter}.zip`), entries);

async function refusal(file: string, limits?: Partial<ZipLimits>): Promise<string> {
  const error = await openExportZip(file, limits).then(
    (zip) => {
      zip.close();
      return new Error("opened");
    },
    (refused: unknown) => refused,
  );
  expect(error).toBeInstanceOf(ExportFileError);
  return (error as Error).message;
}

describe("openExportZip", () => {
  it("lists the entries and reads their bytes back, deflated or stored", async () => {
    const binary = randomBytes(300_000);
    const file = await zipOf([
      { name: "export.xml", data: "<FileDump/>" },
      { name: "files/1/photo.bin", data: binary, compress: false },
      { name: "files/2/ünïcode name.txt", data: "x".repeat(10_000) },
    ]);
    const zip = await openExportZip(file);
    try {
      expect(zip.entries.map((entry) => [entry.name, entry.uncompressedSize])).toEqual([
        ["export.xml", 11],
        ["files/1/photo.bin", 300_000],
        ["files/2/ünïcode name.txt", 10_000],
      ]);
      expect((await readAll(await zip.openEntry("files/1/photo.bin"))).equals(binary)).toBe(true);
      expect((await readAll(await zip.openEntry("files/2/ünïcode name.txt"))).toString()).toBe("x".repeat(10_000));
      await expect(zip.openEntry("nope")).rejects.toThrow('the export names "nope", but its zip does not hold it');
    } finally {
      zip.close();
    }
  });

  it.each([
    ["aa/aa/etc/x", "../../etc/x", 'zip entry "../../etc/x" has an unsafe path (it climbs out with ..)'],
    ["a/../../x", "a/../../x", 'zip entry "a/../../x" has an unsafe path (it climbs out with ..)'],
    ["xetc/passwd", "/etc/passwd", 'zip entry "/etc/passwd" has an unsafe path (it is an absolute path)'],
    ["Cx/Windows/x", "C:/Windows/x", 'zip entry "C:/Windows/x" has an unsafe path (it starts with a drive letter)'],
    ["dir/evil.txt", "dir\\evil.txt", 'zip entry "dir\\\\evil.txt" has an unsafe path (it contains a backslash)'],
    [
      "evil.txtXjpg",
      "evil.txt\0jpg",
      'zip entry "evil.txt\\u0000jpg" has an unsafe path (it contains a NUL character)',
    ],
  ])("refuses the entry %s patched to %j, with our reason", async (written, hostile, reason) => {
    // yazl refuses these names itself, so a safe name of the same length is written and patched.
    const placeholder = written === hostile ? "a/bb/cc/x" : written;
    const file = await zipOf([
      { name: "ok.xml", data: "<FileDump/>" },
      { name: placeholder, data: "owned" },
    ]);
    await patchBytes(file, placeholder, hostile);
    expect(await refusal(file)).toBe(reason);
  });

  it("refuses two entries with the same name", async () => {
    const file = await zipOf([
      { name: "a.eml", data: "one" },
      { name: "b.eml", data: "two" },
    ]);
    await patchBytes(file, "b.eml", "a.eml");
    expect(await refusal(file)).toBe('the zip has two entries named "a.eml"');
  });

  it("refuses more entries, or more bytes in total, than the limits", async () => {
    const file = await zipOf([1, 2, 3, 4].map((n) => ({ name: `${n}.eml`, data: "x".repeat(1000) })));
    expect(await refusal(file, { maxEntries: 3 })).toBe("the zip declares 4 entries, more than the 3 allowed");
    expect(await refusal(file, { maxTotalBytes: 3500 })).toBe(
      "the zip's entries declare more than the 3500 bytes allowed in total",
    );
    expect(await refusal(file, { maxEntryBytes: 999 })).toBe(
      'zip entry "1.eml" declares 1000 bytes, more than the 999 allowed per entry',
    );
  });

  it("refuses a name longer than a path may be, and more names in all than the limit", async () => {
    const long = await zipOf([{ name: `files/${"n".repeat(5000)}.pdf`, data: "x" }]);
    expect(await refusal(long)).toBe("a zip entry's name has 5010 bytes, more than the 4096 allowed");
    expect(await openExportZip(long, { maxNameBytes: 8192 }).then((zip) => zip.close())).toBeUndefined();
    // 30 entries of 4,000-byte names, each one within the limit.
    const names = Array.from({ length: 30 }, (_, n) => `files/${String(n).padStart(3994, "0")}`);
    const crowded = await zipOf(names.map((name) => ({ name, data: "" })));
    expect(await refusal(crowded, { maxDirectoryBytes: 100_000 })).toBe(
      "the zip's entries have more than the 100000 bytes of names, extra fields and comments allowed in total",
    );
    expect(await openExportZip(crowded).then((zip) => zip.entries.length)).toBe(30);
  });

  it("refuses a high-ratio entry (a zip bomb) from its declared sizes, before inflating a byte", async () => {
    const file = await zipOf([{ name: "bomb.xml", data: zeros(8 * MiB) }]);
    expect(await refusal(file)).toMatch(
      /^zip entry "bomb\.xml" has a \d+:1 compression ratio \(\d+ bytes expanding to 8388608\), more than the 200:1 allowed: a zip bomb$/,
    );
    // Declared 2 GB from a few kilobytes: refused just the same, at once.
    await declareUncompressedSize(file, 2_000_000_000);
    const rssBefore = process.memoryUsage().rss;
    expect(await refusal(file)).toMatch(/expanding to 2000000000\), more than the 200:1 allowed: a zip bomb$/);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(100 * MiB);
  });

  it("stops a lying header: an entry inflating past what it declares fails without filling memory", async () => {
    // 300 MB of zeros declared as 1000 bytes: the ratio check cannot see it, the byte count must.
    const file = await zipOf([{ name: "liar.bin", data: zeros(300 * MiB) }]);
    await declareUncompressedSize(file, 1000);
    const zip = await openExportZip(file);
    try {
      expect(zip.entries[0]?.uncompressedSize).toBe(1000);
      const rssBefore = process.memoryUsage().rss;
      let received = 0;
      const reading = (async () => {
        for await (const chunk of await zip.openEntry("liar.bin")) received += (chunk as Buffer).length;
      })();
      await expect(reading).rejects.toThrow(ExportFileError);
      await expect(reading).rejects.toThrow(/zip entry "liar\.bin" (holds more bytes than|is corrupt)/);
      expect(received).toBeLessThanOrEqual(1000);
      expect(process.memoryUsage().rss - rssBefore).toBeLessThan(100 * MiB);
    } finally {
      zip.close();
    }
  }, 20_000);

  it("fails an entry whose bytes were damaged (CRC-32) and one that holds fewer bytes than declared", async () => {
    const file = await zipOf([{ name: "stored.bin", data: Buffer.from("A".repeat(5000)), compress: false }]);
    await patchBytes(file, "AAAAAAAAAA", "AAAAABAAAA");
    const damaged = await openExportZip(file);
    await expect(readAll(await damaged.openEntry("stored.bin"))).rejects.toThrow(
      'zip entry "stored.bin" is corrupt (its CRC-32 does not match)',
    );
    damaged.close();

    const short = await zipOf([{ name: "short.txt", data: "y".repeat(5000) }]);
    await declareUncompressedSize(short, 6000);
    const zip = await openExportZip(short);
    await expect(readAll(await zip.openEntry("short.txt"))).rejects.toThrow(
      /zip entry "short\.txt" (holds 5000 bytes, not the 6000 its header declares|is corrupt: not enough bytes)/,
    );
    zip.close();
  });

  it("says a file that is not a zip is not one, and leaves a missing file's error as it is", async () => {
    const notZip = path.join(dir, "not.zip");
    await writeFile(notZip, "-----BEGIN PGP MESSAGE-----\n");
    expect(await refusal(notZip)).toMatch(/^the file is not a readable zip: /);

    const truncated = await zipOf([{ name: "a.eml", data: randomBytes(5000) }]);
    await writeFile(truncated, (await readFile(truncated)).subarray(0, 3000));
    expect(await refusal(truncated)).toMatch(/^the file is not a readable zip: /);

    const missing = await openExportZip(path.join(dir, "missing.zip")).catch((error: unknown) => error);
    expect(missing).not.toBeInstanceOf(ExportFileError);
    expect((missing as NodeJS.ErrnoException).code).toBe("ENOENT");
  });
});
