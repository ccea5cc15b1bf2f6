// Attachment files: metadata is derived from the seed, bytes are a seeded AES-CTR keystream
// produced chunk by chunk, so even a >10 MB file is streamed and never held in memory.
import { createCipheriv, createHash } from "node:crypto";
import { Readable } from "node:stream";
import { itemAt } from "../org";

export type AttachmentInfo = {
  id: string;
  name: string;
  size: number;
  images: Array<{ id: string; dimension: string }>;
};

const SMALL_FILES = [
  "term-sheet.docx",
  "Q3 results.pdf",
  "trades.csv",
  "chart.png",
  "報告書.xlsx",
  "notes.txt",
  "photo 01.jpg",
];
/** Global message numbers that carry the big files, when the organisation has them. */
export const LARGE_FILES = [
  { globalIndex: 3, name: "board-deck.pptx", size: 3_500_000 },
  { globalIndex: 7, name: "market-data.zip", size: 10_800_000 },
];
const CHUNK = 3 * 64 * 1024; // a multiple of 3, so base64 of each chunk concatenates cleanly

/**
 * Shaped like real attachment ids: `internal_<uploader's user id>%2F<16 bytes in base64>`, the
 * base64 percent-encoded (`%2B`, `%2F`, `%3D`), e.g. "internal_14362370637825%2FT2vTuh%2BgWTtZFQtI%2FHDXYg%3D%3D"
 * (symphony-bdk-java and symphony-bdk-python test resources). A client sends it exactly as listed,
 * encoded once more as a query parameter.
 */
export function attachmentId(seed: string, messageId: string, n: number, uploaderId: number): string {
  const hash = createHash("sha256").update(`${seed}\u0001${messageId}\u0001${n}`).digest().subarray(0, 16);
  return `internal_${uploaderId}/${hash.toString("base64")}`.replace(
    /[/+=]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

export function smallAttachment(
  seed: string,
  messageId: string,
  uploaderId: number,
  pick: (n: number) => number,
): AttachmentInfo {
  return {
    id: attachmentId(seed, messageId, 0, uploaderId),
    name: itemAt(SMALL_FILES, pick(SMALL_FILES.length)),
    size: 1024 + pick(300 * 1024),
    images: [],
  };
}

function* keystream(seed: string, id: string, size: number): Generator<Buffer> {
  const key = createHash("sha256").update(`${seed}\u0001bytes\u0001${id}`).digest();
  const cipher = createCipheriv("aes-128-ctr", key.subarray(0, 16), key.subarray(16, 32));
  const zeros = Buffer.alloc(CHUNK);
  for (let done = 0; done < size; done += CHUNK) yield cipher.update(zeros.subarray(0, Math.min(CHUNK, size - done)));
}

/** The attachment's bytes, generated as they are read. */
export function attachmentBytes(seed: string, attachment: Pick<AttachmentInfo, "id" | "size">): Readable {
  return Readable.from(keystream(seed, attachment.id, attachment.size), { objectMode: false });
}

/** The attachment's bytes as base64 text, as the agent's download endpoint returns them. */
export function attachmentBase64(seed: string, attachment: Pick<AttachmentInfo, "id" | "size">): Readable {
  return Readable.from(
    (function* () {
      for (const chunk of keystream(seed, attachment.id, attachment.size)) yield chunk.toString("base64");
    })(),
  );
}
