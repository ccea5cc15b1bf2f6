import { PassThrough, Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { AttachmentRef, AttachmentSource } from "@/lib/convert";
import { peek } from "@/lib/staging";

/**
 * A message's attachments up to this size in all are read before its MIME is written (in base64 they
 * still fit in a bundle), so that the MIME is written at once and the import's model is built from
 * what was written; bigger ones are streamed into the MIME, never held whole.
 */
export const BUFFERED_ATTACHMENTS_MAX_BYTES = 512 * 1024;

/**
 * The attachments' contents when they add up to at most BUFFERED_ATTACHMENTS_MAX_BYTES (nearly every
 * message: none, or a few small files), else sources that stream them into the MIME (any read so far
 * included, so that nothing is downloaded twice).
 */
export async function readAttachments(
  refs: AttachmentRef[],
  open: (ref: AttachmentRef) => Promise<Readable>,
): Promise<{ contents: Array<{ ref: AttachmentRef; content: Buffer }> } | { sources: AttachmentSource[] }> {
  const streamed = (ref: AttachmentRef) => ({ ref, open: () => streamOf(() => open(ref)) });
  if (refs.reduce((sum, ref) => sum + ref.size, 0) > BUFFERED_ATTACHMENTS_MAX_BYTES)
    return { sources: refs.map(streamed) };
  const contents: Array<{ ref: AttachmentRef; content: Buffer }> = [];
  let budget = BUFFERED_ATTACHMENTS_MAX_BYTES;
  for (const [index, ref] of refs.entries()) {
    const peeked = await peek(await open(ref), budget);
    if (!peeked.ended) {
      // Bigger than its listed size: this message is streamed like one with big files.
      return {
        sources: [
          ...contents.map(({ ref: read, content }) => ({ ref: read, open: () => Readable.from([content]) })),
          { ref, open: () => peeked.rest },
          ...refs.slice(index + 1).map(streamed),
        ],
      };
    }
    budget -= peeked.head.length;
    contents.push({ ref, content: peeked.head });
  }
  return { contents };
}

/** A stream now for a stream later (buildMime opens an attachment when it reaches it). */
function streamOf(open: () => Promise<Readable>): Readable {
  const through = new PassThrough();
  open()
    .then((source) => pipeline(source, through))
    .catch((error: unknown) => through.destroy(error as Error));
  return through;
}
