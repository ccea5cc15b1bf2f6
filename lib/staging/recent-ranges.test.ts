import { describe, expect, it } from "vitest";
import { createRecentRanges, type RangeDownload } from "./recent-ranges";

const blob = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));

/** Reads of `blob` by range, each one recorded. */
function ranged(source = blob) {
  const reads: Array<[number, number]> = [];
  const download: RangeDownload = (offset, count) => {
    reads.push([offset, count]);
    return Promise.resolve(source.subarray(offset, offset + count));
  };
  return { reads, download };
}

describe("recent ranges", () => {
  it("reads a window ahead from the first offset asked for and serves the next ranges from it", async () => {
    const ranges = createRecentRanges({ windowBytes: 100, maxTotalBytes: 1000 });
    const { reads, download } = ranged();
    expect(await ranges.read("a", 200, 10, download)).toEqual(blob.subarray(200, 210));
    expect(await ranges.read("a", 210, 90, download)).toEqual(blob.subarray(210, 300));
    expect(reads).toEqual([[200, 100]]);
    // Before the window, past its end, or another blob: a new window.
    await ranges.read("a", 150, 10, download);
    await ranges.read("a", 295, 10, download);
    await ranges.read("b", 200, 10, download);
    expect(reads).toEqual([
      [200, 100],
      [150, 100],
      [295, 100],
      [200, 100],
    ]);
  });

  it("gives the bytes there are at the blob's end, and reads again what a short window lacks", async () => {
    const ranges = createRecentRanges({ windowBytes: 100, maxTotalBytes: 1000 });
    const { reads, download } = ranged();
    expect(await ranges.read("a", 950, 20, download)).toEqual(blob.subarray(950, 970));
    expect(await ranges.read("a", 990, 20, download)).toEqual(blob.subarray(990));
    expect(reads).toEqual([
      [950, 100],
      [990, 20],
    ]);
  });

  it("keeps windows within its byte limit, oldest out first, and big ranges not at all", async () => {
    const ranges = createRecentRanges({ windowBytes: 100, maxTotalBytes: 200 });
    const { reads, download } = ranged();
    for (const offset of [0, 300, 600]) await ranges.read("a", offset, 10, download);
    await ranges.read("a", 600, 10, download);
    await ranges.read("a", 300, 10, download);
    expect(reads).toHaveLength(3);
    await ranges.read("a", 0, 10, download);
    expect(reads).toHaveLength(4);
    expect(await ranges.read("a", 0, 150, download)).toEqual(blob.subarray(0, 150));
    await ranges.read("a", 100, 10, download);
    expect(reads.slice(4)).toEqual([
      [0, 150],
      [100, 100],
    ]);
  });

  it("shares a window being read, and keeps no failed one", async () => {
    const ranges = createRecentRanges({ windowBytes: 100, maxTotalBytes: 1000 });
    const { reads, download } = ranged();
    const [first, second] = await Promise.all([ranges.read("a", 0, 10, download), ranges.read("a", 10, 10, download)]);
    expect(Buffer.concat([first, second])).toEqual(blob.subarray(0, 20));
    expect(reads).toHaveLength(1);
    let fail = true;
    const flaky: RangeDownload = (offset, count) =>
      fail ? Promise.reject(new Error("connection reset")) : download(offset, count);
    await expect(ranges.read("b", 0, 10, flaky)).rejects.toThrow("connection reset");
    fail = false;
    expect(await ranges.read("b", 0, 10, flaky)).toEqual(blob.subarray(0, 10));
  });
});
