/** Reads `count` bytes of a blob from `offset` (fewer at the blob's end). */
export type RangeDownload = (offset: number, count: number) => Promise<Buffer>;

export type RecentRanges = {
  /** `length` bytes of the blob from `offset`: from a window read lately, or a new window read ahead. */
  read(blobName: string, offset: number, length: number, download: RangeDownload): Promise<Buffer>;
  clear(): void;
};

type Window = { blobName: string; start: number; end: number; bytes: Promise<Buffer | undefined> };

/**
 * Windows of blobs read by range, each `windowBytes` from the first offset asked for: a mailbox that
 * fell behind reads its next entries of a bundle one after the other, and the other members of the
 * same conversation read the same entries, so one request serves them all. Oldest first out, within
 * `maxTotalBytes`; a range bigger than a window is read on its own and not kept.
 */
export function createRecentRanges({
  windowBytes,
  maxTotalBytes,
}: {
  windowBytes: number;
  maxTotalBytes: number;
}): RecentRanges {
  let windows: Window[] = [];
  let heldBytes = 0;

  function covering(blobName: string, offset: number, end: number): Window | undefined {
    for (let i = windows.length - 1; i >= 0; i--) {
      const window = windows[i]!;
      if (window.blobName === blobName && window.start <= offset && end <= window.end) return window;
    }
    return undefined;
  }

  function add(window: Window) {
    windows.push(window);
    heldBytes += window.end - window.start;
    while (heldBytes > maxTotalBytes && windows.length > 1) {
      const oldest = windows.shift()!;
      heldBytes -= oldest.end - oldest.start;
    }
  }

  function remove(window: Window) {
    if (!windows.includes(window)) return;
    windows = windows.filter((other) => other !== window);
    heldBytes -= window.end - window.start;
  }

  return {
    async read(blobName, offset, length, download) {
      const end = offset + length;
      const known = covering(blobName, offset, end);
      if (known) {
        const bytes = await known.bytes;
        // A window cut short by the blob's end holds less than it was asked for.
        if (bytes && end - known.start <= bytes.length) return bytes.subarray(offset - known.start, end - known.start);
        return download(offset, length);
      }
      if (length > windowBytes) return download(offset, length);
      const loading = download(offset, windowBytes);
      const window: Window = {
        blobName,
        start: offset,
        end: offset + windowBytes,
        bytes: loading.catch(() => undefined),
      };
      add(window);
      try {
        return (await loading).subarray(0, length);
      } catch (error) {
        remove(window);
        throw error;
      }
    },
    clear() {
      windows = [];
      heldBytes = 0;
    },
  };
}
