import { PassThrough, type Readable } from "node:stream";

/**
 * `stream`, whose error, should it fail, is first turned into `as(error)`: a source's own error told
 * apart for whoever reads the bytes (a message's failure rather than the run's).
 */
export function withStreamErrors(stream: Readable, as: (error: Error) => Error): Readable {
  // Not stream.pipeline: it would destroy the result with the stream's own error first.
  const mapped = new PassThrough();
  stream.once("error", (error) => mapped.destroy(as(error)));
  mapped.once("close", () => stream.destroy());
  return stream.pipe(mapped);
}
