import { availableParallelism } from "node:os";
import type { Worker } from "node:worker_threads";
import { startThread } from "@/lib/threads";
import { buildEmail, type BuildEmailOptions } from "./email";
import { inputTooLarge } from "./presentation";
import type { ChatMessage, EmailModel } from "./types";

/**
 * Conversion in worker threads, so that one message can only fail itself. Each thread has its own
 * heap limit (`resourceLimits`): a message whose conversion exhausts it, or takes too long, ends
 * that thread, not the process (whose heap `npm start` caps at 192 MB, shared by every connector's
 * run). The message is tried once more alone in a fresh thread; if that fails too, its email is
 * built without rendering the body, the original content attached (buildEmail's `notRendered`).
 * Content over the input limit is not sent to a thread at all: it is never parsed.
 *
 * Threads take messages in batches and answer a batch at once (a message converts in tens of
 * microseconds; a postMessage each way per message would cost more than that). A thread writes the
 * id of the message it is on in a shared cell, so the pool knows which message a dead thread was
 * on: that one is the suspect, the others of the batch are simply converted again.
 */

export type ConversionJob = { id: number; message: ChatMessage; options: BuildEmailOptions };
export type ConversionResult = { id: number; email: EmailModel } | { id: number; error: string };

export interface ConversionPoolOptions {
  /** Conversion threads (default: the cores but one, 1 to 4). */
  threads?: number;
  /** Old-generation heap limit of each thread in MB (default 128). */
  heapMb?: number;
  /** Longest conversion of one message in ms before its thread is stopped (default 30 s). */
  timeoutMs?: number;
  /** A thread idle this long is stopped (default 60 s); the next message starts one again. */
  idleMs?: number;
  /** Messages sent to a thread at once (default 16). */
  batchSize?: number;
}

/** No conversion thread could be started (an installation problem, not a message's): retry the run later. */
export class ConversionUnavailableError extends Error {
  override name = "ConversionUnavailableError";
}

/**
 * A thread's young generation in MB. Its messages' objects die within the batch, and 10-15 MB stay
 * live; V8's default (or the worker's `--max-semi-space-size=8`) kept 16 MB of it resident.
 */
const THREAD_YOUNG_GENERATION_MB = 3;

interface Pending {
  id: number;
  message: ChatMessage;
  options: BuildEmailOptions;
  resolve(email: EmailModel): void;
  reject(error: Error): void;
  /** Threads that ended while converting this message. */
  failures: number;
}

interface Thread {
  worker: Worker;
  ready: boolean;
  /** The batch sent and not answered yet. */
  inflight: Pending[];
  /** Id of the message the thread is converting (or converted last). */
  progress: Int32Array;
  /** Why the thread ended, when it was made to or it said so. */
  failure?: string;
  /** The thread's error, if it had one. */
  error?: string;
  timer?: NodeJS.Timeout;
  idle?: NodeJS.Timeout;
}

export class ConversionPool {
  private readonly threads: number;
  private readonly heapMb: number;
  private readonly timeoutMs: number;
  private readonly idleMs: number;
  private readonly batchSize: number;
  private readonly running = new Set<Thread>();
  private queue: Pending[] = [];
  private nextId = 0;
  private closed = false;
  private dispatchQueued = false;

  constructor(options: ConversionPoolOptions = {}) {
    this.threads = options.threads ?? Math.max(1, Math.min(4, availableParallelism() - 1));
    this.heapMb = options.heapMb ?? 128;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.idleMs = options.idleMs ?? 60_000;
    this.batchSize = options.batchSize ?? 16;
  }

  /**
   * The email of `message`, as buildEmail makes it. Rejects with buildEmail's error for a message it
   * refuses (an invalid id), and with ConversionUnavailableError when no thread can start.
   */
  convert(message: ChatMessage, options: BuildEmailOptions = {}): Promise<EmailModel> {
    if (this.closed) return Promise.reject(new Error("the conversion pool is closed"));
    // Too large to parse: buildEmail attaches it without reading it, cheaply, here.
    if (inputTooLarge(message.presentationML, message.data)) {
      return new Promise((resolve) => resolve(buildEmail(message, options)));
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId, message, options, resolve, reject, failures: 0 });
      this.nextId = (this.nextId + 1) & 0x7fffffff;
      // Messages asked for in the same tick (the collector converts a page's messages at once) go together.
      if (!this.dispatchQueued) {
        this.dispatchQueued = true;
        queueMicrotask(() => {
          this.dispatchQueued = false;
          this.dispatch();
        });
      }
    });
  }

  /** Stops every thread; conversions not finished are rejected. */
  async close(): Promise<void> {
    this.closed = true;
    const error = new Error("the conversion pool is closed");
    for (const pending of this.queue.splice(0)) pending.reject(error);
    await Promise.all(
      [...this.running].map((thread) => {
        for (const pending of thread.inflight.splice(0)) pending.reject(error);
        return thread.worker.terminate();
      }),
    );
  }

  private dispatch() {
    while (this.queue.length > 0) {
      const thread = [...this.running].find((t) => t.ready && t.inflight.length === 0);
      if (!thread) {
        if (this.running.size < this.threads && ![...this.running].some((t) => !t.ready)) this.start();
        return;
      }
      // A message that already ended a thread goes alone, so that it cannot take others with it again.
      const first = this.queue[0];
      const alone = first !== undefined && first.failures > 0;
      let count = alone ? 1 : 0;
      while (!alone && count < this.batchSize && count < this.queue.length && this.queue[count]?.failures === 0)
        count++;
      this.send(thread, this.queue.splice(0, count));
    }
  }

  private send(thread: Thread, batch: Pending[]) {
    clearTimeout(thread.idle);
    thread.inflight = batch;
    thread.worker.ref();
    const jobs: ConversionJob[] = batch.map(({ id, message, options }) => ({ id, message, options }));
    thread.worker.postMessage(jobs);
    this.arm(thread);
  }

  /**
   * The deadline of the message a thread is on: the shared cell is looked at four times per
   * `timeoutMs`, and the thread is stopped once it has been on the same message for `timeoutMs`
   * (give or take a quarter of it).
   */
  private arm(thread: Thread) {
    clearTimeout(thread.timer);
    const every = Math.max(10, Math.floor(this.timeoutMs / 4));
    let seen = Atomics.load(thread.progress, 0);
    let since = performance.now();
    const check = () => {
      const now = Atomics.load(thread.progress, 0);
      if (now !== seen) {
        seen = now;
        since = performance.now();
      } else if (performance.now() - since >= this.timeoutMs) {
        const limit = this.timeoutMs >= 1000 ? `${Math.round(this.timeoutMs / 1000)} s` : `${this.timeoutMs} ms`;
        thread.failure = `converting it took longer than ${limit}`;
        void thread.worker.terminate();
        return;
      }
      thread.timer = setTimeout(check, every).unref();
    };
    thread.timer = setTimeout(check, every).unref();
  }

  private start() {
    const progress = new SharedArrayBuffer(4);
    const worker = startThread(import.meta.url, "conversion-worker.mjs", {
      workerData: { progress },
      resourceLimits: { maxOldGenerationSizeMb: this.heapMb, maxYoungGenerationSizeMb: THREAD_YOUNG_GENERATION_MB },
    });
    const thread: Thread = { worker, ready: false, inflight: [], progress: new Int32Array(progress) };
    Atomics.store(thread.progress, 0, -1);
    this.running.add(thread);
    worker.on("message", (message: ConversionResult[] | "ready") => {
      if (message === "ready") {
        thread.ready = true;
        worker.unref();
        this.dispatch();
        return;
      }
      const batch = new Map(thread.inflight.map((pending) => [pending.id, pending]));
      thread.inflight = [];
      for (const result of message) {
        const pending = batch.get(result.id);
        batch.delete(result.id);
        if (!pending) continue;
        if ("email" in result) pending.resolve(result.email);
        else pending.reject(new Error(result.error));
      }
      // Never happens; should it, those messages are converted again.
      this.queue.unshift(...batch.values());
      clearTimeout(thread.timer);
      worker.unref();
      thread.idle = setTimeout(() => void worker.terminate(), this.idleMs).unref();
      this.dispatch();
    });
    worker.on("error", (error: Error & { code?: string }) => {
      thread.error = error.message;
      thread.failure ??=
        error.code === "ERR_WORKER_OUT_OF_MEMORY"
          ? `converting it needed more than the converter's ${this.heapMb} MB of memory`
          : `the converter stopped on it (${error.message})`;
    });
    worker.on("exit", () => this.ended(thread));
  }

  private ended(thread: Thread) {
    this.running.delete(thread);
    clearTimeout(thread.timer);
    clearTimeout(thread.idle);
    if (this.closed) return;
    if (!thread.ready) {
      // It never started: nothing was sent to it. Without any thread, nothing can be converted.
      if (this.running.size === 0) {
        const error = new ConversionUnavailableError(
          `no conversion thread could be started: ${thread.error ?? "it exited at once"}`,
        );
        for (const pending of this.queue.splice(0)) pending.reject(error);
      }
      return;
    }
    // Answers of the batch were lost with the thread: the message it was on is the suspect, the
    // others are converted again.
    const on = Atomics.load(thread.progress, 0);
    const suspect = thread.inflight.find((pending) => pending.id === on);
    this.queue.unshift(...thread.inflight.filter((pending) => pending !== suspect));
    if (suspect) {
      suspect.failures++;
      if (suspect.failures < 2) this.queue.unshift(suspect);
      else {
        const reason = thread.failure ?? "the converter stopped on it";
        try {
          suspect.resolve(buildEmail(suspect.message, { ...suspect.options, notRendered: reason }));
        } catch (error) {
          suspect.reject(error instanceof Error ? error : new Error(String(error)));
        }
      }
    }
    this.dispatch();
  }
}

let shared: ConversionPool | undefined;

/** Converts `message` in the process's shared conversion pool (see ConversionPool). */
export function convertMessage(message: ChatMessage, options?: BuildEmailOptions): Promise<EmailModel> {
  shared ??= new ConversionPool();
  return shared.convert(message, options);
}
