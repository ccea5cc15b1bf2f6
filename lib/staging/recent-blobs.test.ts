import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createRecentBlobs, type Download } from "./recent-blobs";

async function text(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString();
}

/** A download of `content` that counts how often it was asked for. */
function counted(content: string) {
  const calls = { count: 0 };
  const download: Download = async () => {
    calls.count += 1;
    await new Promise((resolve) => setTimeout(resolve, 5));
    return { body: Readable.from([Buffer.from(content)]), size: Buffer.byteLength(content) };
  };
  return { calls, download };
}

describe("recent blobs", () => {
  it("downloads a small blob once for readers at the same time and readers just after", async () => {
    const recent = createRecentBlobs({ maxBlobBytes: 100, maxTotalBytes: 1000 });
    const { calls, download } = counted("small message");
    const together = await Promise.all([1, 2, 3, 4].map(() => recent.open("a.eml", download).then(text)));
    const after = await text(await recent.open("a.eml", download));
    expect([...together, after]).toEqual(Array(5).fill("small message"));
    expect(calls.count).toBe(1);
  });

  it("streams a blob bigger than the limit every time", async () => {
    const recent = createRecentBlobs({ maxBlobBytes: 4, maxTotalBytes: 1000 });
    const { calls, download } = counted("too big to keep");
    const read = await Promise.all([1, 2].map(() => recent.open("big.eml", download).then(text)));
    expect(read).toEqual(["too big to keep", "too big to keep"]);
    expect(calls.count).toBe(2);
  });

  it("does not remember a failed read: the readers waiting and the next one try again", async () => {
    const recent = createRecentBlobs({ maxBlobBytes: 100, maxTotalBytes: 1000 });
    let fail = true;
    const { calls, download } = counted("content");
    const flaky: Download = async () => {
      if (fail) {
        fail = false;
        throw new Error("connection reset");
      }
      return download();
    };
    const [first, second] = await Promise.allSettled([
      recent.open("c.eml", flaky),
      recent.open("c.eml", flaky).then(text),
    ]);
    expect(first).toMatchObject({ status: "rejected", reason: new Error("connection reset") });
    expect(second).toEqual({ status: "fulfilled", value: "content" });
    expect(await text(await recent.open("c.eml", flaky))).toBe("content");
    expect(await text(await recent.open("c.eml", flaky))).toBe("content");
    // The waiting reader read its own copy; the next one read it again and it was kept.
    expect(calls.count).toBe(2);
  });

  it("reads a bundle's bytes once for every reader of its entries", async () => {
    const recent = createRecentBlobs({ maxBlobBytes: 100, maxTotalBytes: 1000 });
    const { calls, download } = counted("entry one|entry two");
    const reads = await Promise.all([1, 2, 3].map(() => recent.read("bundle", download)));
    expect(reads.map((bytes) => bytes.subarray(10).toString())).toEqual(Array(3).fill("entry two"));
    expect((await recent.read("bundle", download)).subarray(0, 9).toString()).toBe("entry one");
    expect(calls.count).toBe(1);
  });

  it("serves bytes put after a write without downloading them", async () => {
    const recent = createRecentBlobs({ maxBlobBytes: 100, maxTotalBytes: 1000 });
    const { calls, download } = counted("written");
    recent.put("bundle", Buffer.from("written"));
    expect((await recent.read("bundle", download)).toString()).toBe("written");
    expect(calls.count).toBe(0);
  });

  it("keeps the first bundles written when more are written than it can keep", async () => {
    const recent = createRecentBlobs({ maxBlobBytes: 10, maxTotalBytes: 10 });
    const first = counted("first");
    const second = counted("later");
    recent.put("first", Buffer.from("first"));
    recent.put("second", Buffer.from("secon"));
    recent.put("third", Buffer.from("third"));
    expect((await recent.read("first", first.download)).toString()).toBe("first");
    expect((await recent.read("third", second.download)).toString()).toBe("later");
    expect([first.calls.count, second.calls.count]).toEqual([0, 1]);
  });

  it("keeps no more than maxTotalBytes, letting the oldest go first", async () => {
    const recent = createRecentBlobs({ maxBlobBytes: 10, maxTotalBytes: 10 });
    const a = counted("aaaaaa");
    const b = counted("bbbbbb");
    await text(await recent.open("a.eml", a.download));
    await text(await recent.open("b.eml", b.download));
    await text(await recent.open("b.eml", b.download));
    await text(await recent.open("a.eml", a.download));
    expect(b.calls.count).toBe(1);
    expect(a.calls.count).toBe(2);
  });
});
