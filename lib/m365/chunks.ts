import type { Readable } from "node:stream";

export type ChunkReader = {
  /** `length` bytes from `offset`; going back before the last chunk read reopens the source. */
  read(offset: number, length: number): Promise<Buffer>;
  close(): void;
};

/**
 * Reads a stream in chunks without holding more than about one chunk in memory; keeps the last
 * chunk so that it can be sent again, and reopens the source to go further back.
 */
export function createChunkReader(open: () => Readable | Promise<Readable>): ChunkReader {
  let stream: Readable | undefined;
  let pieces: AsyncIterator<Buffer> | undefined;
  let held: Buffer[] = [];
  let heldStart = 0;
  let heldLength = 0;

  async function reopen() {
    stream?.destroy();
    stream = await open();
    pieces = stream[Symbol.asyncIterator]();
    held = [];
    heldStart = 0;
    heldLength = 0;
  }

  return {
    async read(offset, length) {
      if (!pieces || offset < heldStart) await reopen();
      while (heldStart + heldLength < offset + length) {
        const next = await pieces!.next();
        if (next.done)
          throw new Error(
            `attachment stream ended at byte ${heldStart + heldLength}, expected at least ${offset + length}`,
          );
        const piece = Buffer.from(next.value);
        held.push(piece);
        heldLength += piece.length;
        // Forget what lies wholly before the requested range.
        while (held[0] && heldStart + held[0].length <= offset) {
          heldStart += held[0].length;
          heldLength -= held[0].length;
          held.shift();
        }
      }
      const joined = Buffer.concat(held);
      held = [joined];
      return joined.subarray(offset - heldStart, offset - heldStart + length);
    },
    close() {
      stream?.destroy();
    },
  };
}
