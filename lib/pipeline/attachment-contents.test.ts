import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import type { AttachmentRef, AttachmentSource } from "@/lib/convert";
import { BUFFERED_ATTACHMENTS_MAX_BYTES, readAttachments } from "./attachment-contents";

const KB = 1024;

function files(sizes: number[], listed: (size: number) => number = (size) => size) {
  const refs: AttachmentRef[] = sizes.map((size, i) => ({ id: `file-${i}`, name: `f${i}.bin`, size: listed(size) }));
  const bytes = new Map(
    sizes.map((size, i) => [`file-${i}`, Buffer.alloc(size, createHash("sha256").update(String(i)).digest())]),
  );
  const opened: string[] = [];
  // Served in 16 KB chunks, as a download arrives.
  const open = (ref: AttachmentRef) => {
    opened.push(ref.id);
    const content = bytes.get(ref.id)!;
    const chunks = Array.from({ length: Math.ceil(content.length / (16 * KB)) }, (_, i) =>
      content.subarray(i * 16 * KB, (i + 1) * 16 * KB),
    );
    return Promise.resolve(Readable.from(chunks, { objectMode: false }));
  };
  return { refs, bytes, opened, open };
}

const digest = (content: Buffer | undefined) => createHash("sha256").update(content!).digest("hex");

/** Each source's bytes, by digest. */
async function contentsOf(sources: AttachmentSource[]): Promise<string[]> {
  const out: string[] = [];
  for (const source of sources) {
    const chunks: Buffer[] = [];
    for await (const chunk of source.open()) chunks.push(chunk as Buffer);
    out.push(digest(Buffer.concat(chunks)));
  }
  return out;
}

describe("readAttachments", () => {
  it("reads a message's small files whole, each downloaded once", async () => {
    const { refs, bytes, opened, open } = files([0, 3 * KB, 200 * KB]);
    const read = await readAttachments(refs, open);
    expect("contents" in read && read.contents.map(({ ref, content }) => [ref.id, digest(content)])).toEqual(
      refs.map((ref) => [ref.id, digest(bytes.get(ref.id))]),
    );
    expect(opened).toEqual(["file-0", "file-1", "file-2"]);
  });

  it("streams files listed as big without opening them first", async () => {
    const { refs, bytes, opened, open } = files([BUFFERED_ATTACHMENTS_MAX_BYTES, 10 * KB]);
    const read = await readAttachments(refs, open);
    expect(opened).toEqual([]);
    if (!("sources" in read)) throw new Error("expected streamed sources");
    expect(await contentsOf(read.sources)).toEqual(["file-0", "file-1"].map((id) => digest(bytes.get(id))));
  });

  it("streams a file bigger than Symphony listed it, every byte once, without downloading anything twice", async () => {
    const { refs, bytes, opened, open } = files([100 * KB, BUFFERED_ATTACHMENTS_MAX_BYTES, 7 * KB], () => 1 * KB);
    const read = await readAttachments(refs, open);
    if (!("sources" in read)) throw new Error("expected streamed sources");
    expect(opened).toEqual(["file-0", "file-1"]);
    expect(await contentsOf(read.sources)).toEqual(["file-0", "file-1", "file-2"].map((id) => digest(bytes.get(id))));
    expect(opened).toEqual(["file-0", "file-1", "file-2"]);
  });
});
