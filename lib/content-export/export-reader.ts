import type { Readable } from "node:stream";
import type { Worker } from "node:worker_threads";
import { startThread } from "@/lib/threads";
import { ExportFileError } from "./errors";
import type { ExportContentLimits } from "./export-content";
import type { ExportFormat, ExportItem } from "./types";
import { openExportZip, type ExportZip } from "./zip";

/**
 * Items handed over at once: at most maxItems, and no more once their weight passes maxWeight (the
 * characters of their content or subject, plus 256 and the characters of each recipient's names).
 */
export type BatchLimits = { maxItems: number; maxWeight: number };

export const DEFAULT_BATCH_LIMITS: BatchLimits = { maxItems: 200, maxWeight: 16 * 1024 * 1024 };

export const DEFAULT_READER_HEAP_MB = 256;

export type ReaderRequest =
  | { kind: "open"; zipPath: string; limits: ExportContentLimits; batch: BatchLimits }
  | { kind: "next" }
  | { kind: "close" };

export type ReaderAnswer =
  | { kind: "opened"; format: ExportFormat; conversations: number; messages: number }
  | { kind: "items"; items: ExportItem[]; done: boolean }
  | { kind: "closed" }
  | { kind: "failed"; message: string; fileError: boolean };

export type ExportReader = {
  format: ExportFormat;
  conversations: number;
  /** How many items batches() hands over. */
  messages: number;
  /** The thread reading the file (files read one after the other share one). */
  threadId: number;
  batches(): AsyncIterable<ExportItem[]>;
  /** An entry's bytes: an attachment's zipPath, or an EML item's entryName. */
  openAttachment(zipPath: string): Promise<Readable>;
  close(): Promise<void>;
};

export type ExportReadersOptions = {
  /** Old-generation heap limit of a reader thread in MB (default 256). */
  heapMb?: number;
  /** A thread left idle this long is stopped (default 60 s). */
  idleMs?: number;
};

/**
 * Reads decrypted export zips (openExportContent's two passes) in a thread of their own, so that a
 * file, however large or hostile, can only fail itself: what the passes keep (a conversation's
 * participants and presence, every edit's original, an EML file's items) lives in the thread's heap
 * under its own limit, not in the worker's, which every connector's run shares. A file that needs
 * more fails with that reason, and the next file gets a fresh thread. The worker holds one batch at
 * a time, bounded in items and characters; attachments are read here, straight from the zip. Files
 * read one after the other share a thread.
 */
export class ExportReaders {
  private readonly heapMb: number;
  private readonly idleMs: number;
  private idle: { thread: ReaderThread; timer: NodeJS.Timeout } | undefined;
  private closed = false;

  constructor(options: ExportReadersOptions = {}) {
    this.heapMb = options.heapMb ?? DEFAULT_READER_HEAP_MB;
    this.idleMs = options.idleMs ?? 60_000;
  }

  async open(
    zipPath: string,
    options: {
      limits?: ExportContentLimits;
      batch?: BatchLimits;
      /** Stops the thread (and the reading) when the run is stopped. */
      signal?: AbortSignal;
    } = {},
  ): Promise<ExportReader> {
    const limits = options.limits ?? {};
    const { signal } = options;
    const thread = this.take() ?? new ReaderThread(this.heapMb);
    let zip: ExportZip | undefined;
    let released = false;
    const release = async () => {
      if (released) return;
      released = true;
      zip?.close();
      // A thread still on a request (the file let go while a batch was read) or ended is not reused.
      if (thread.ended || thread.busy || (await thread.ask({ kind: "close" }).catch(() => null))?.kind !== "closed")
        await thread.worker.terminate();
      else this.keep(thread);
    };
    try {
      const batch = options.batch ?? DEFAULT_BATCH_LIMITS;
      const opened = await thread.ask({ kind: "open", zipPath, limits, batch }, signal);
      if (opened.kind !== "opened") throw unexpected(opened);
      zip = await openExportZip(zipPath, limits);
      const attachments = zip;
      return {
        format: opened.format,
        conversations: opened.conversations,
        messages: opened.messages,
        threadId: thread.worker.threadId,
        async *batches() {
          for (;;) {
            const answer = await thread.ask({ kind: "next" }, signal);
            if (answer.kind !== "items") throw unexpected(answer);
            if (answer.items.length > 0) yield answer.items;
            if (answer.done) return;
          }
        },
        openAttachment: (entryName) => attachments.openEntry(entryName),
        close: release,
      };
    } catch (error) {
      await release();
      throw error;
    }
  }

  /** Stops the idle thread; a thread let go after this is stopped too. */
  async close(): Promise<void> {
    this.closed = true;
    const idle = this.take();
    await idle?.worker.terminate();
  }

  private take(): ReaderThread | undefined {
    const idle = this.idle;
    this.idle = undefined;
    if (idle) clearTimeout(idle.timer);
    return idle?.thread.ended ? undefined : idle?.thread;
  }

  private keep(thread: ReaderThread) {
    if (this.idle || this.closed) {
      void thread.worker.terminate();
      return;
    }
    const timer = setTimeout(() => {
      if (this.idle?.thread === thread) this.idle = undefined;
      void thread.worker.terminate();
    }, this.idleMs).unref();
    this.idle = { thread, timer };
  }
}

function unexpected(answer: ReaderAnswer): Error {
  if (answer.kind === "failed")
    return answer.fileError ? new ExportFileError(answer.message) : new Error(answer.message);
  return new Error(`the export reader answered "${answer.kind}" out of turn`);
}

/** One reader thread: a request at a time, and once it has ended, why, for every later request. */
class ReaderThread {
  readonly worker: Worker;
  ended: Error | undefined;
  private waiting: { resolve(answer: ReaderAnswer): void; reject(error: Error): void } | undefined;

  /** Whether a request waits for its answer. */
  get busy(): boolean {
    return this.waiting !== undefined;
  }

  constructor(heapMb: number) {
    this.worker = startThread(import.meta.url, "export-reader-thread.mjs", {
      resourceLimits: { maxOldGenerationSizeMb: heapMb, maxYoungGenerationSizeMb: 8 },
    });
    this.worker.unref();
    this.worker.on("message", (answer: ReaderAnswer) => {
      this.waiting?.resolve(answer);
      this.waiting = undefined;
    });
    this.worker.on("error", (error: Error & { code?: string }) => {
      this.ended ??=
        error.code === "ERR_WORKER_OUT_OF_MEMORY"
          ? new ExportFileError(
              `reading the file needed more than the export reader's ${heapMb} MB of memory (EXPORT_READER_HEAP_MB)`,
            )
          : new Error(`the export reader stopped: ${error.message}`);
    });
    this.worker.on("exit", (code) => {
      this.ended ??= new Error(`the export reader stopped (exit code ${code})`);
      this.waiting?.reject(this.ended);
      this.waiting = undefined;
    });
  }

  async ask(request: ReaderRequest, signal?: AbortSignal): Promise<ReaderAnswer> {
    signal?.throwIfAborted();
    if (this.ended) throw this.ended;
    this.worker.ref();
    // The thread may be deep in a file: stopping it is the only way to stop the reading at once.
    const stop = () => {
      this.ended ??= signal?.reason instanceof Error ? signal.reason : new Error("the reading was stopped");
      void this.worker.terminate();
    };
    signal?.addEventListener("abort", stop, { once: true });
    try {
      return await new Promise<ReaderAnswer>((resolve, reject) => {
        this.waiting = { resolve, reject };
        this.worker.postMessage(request);
      });
    } finally {
      signal?.removeEventListener("abort", stop);
      this.worker.unref();
    }
  }
}
