// The conversion thread (see ./pool.ts): builds the email of each message of a batch, one after
// the other, and answers the batch at once. Before each message it writes the message's id in the
// shared `progress` cell, so that the pool knows which message it was on if it runs out of memory
// or time.
import { parentPort, workerData } from "node:worker_threads";
import { buildEmail } from "./email";
import type { ConversionJob, ConversionResult } from "./pool";
import { errorMessage } from "@/lib/errors";

const port = parentPort;
if (!port) throw new Error("conversion-worker runs in a worker thread");
const progress = new Int32Array((workerData as { progress: SharedArrayBuffer }).progress);

port.on("message", (jobs: ConversionJob[]) => {
  const results: ConversionResult[] = [];
  for (const { id, message, options } of jobs) {
    Atomics.store(progress, 0, id);
    try {
      results.push({ id, email: buildEmail(message, options) });
    } catch (error) {
      results.push({ id, error: errorMessage(error) });
    }
  }
  port.postMessage(results);
});
port.postMessage("ready");
