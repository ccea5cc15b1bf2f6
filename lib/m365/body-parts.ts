import type { MiddlewareOptions } from "@microsoft/microsoft-graph-client";

/** A piece of a request body: bytes, or bytes made each time the body is sent. */
export type BodyPart = Buffer | { readonly length: number; [Symbol.iterator](): Iterator<Buffer> };

/**
 * A request body sent as its parts one after another, never copied into one buffer: a $batch is
 * megabytes of create bodies already in memory, and a fresh buffer of megabytes costs the worker
 * more in page faults (blocks that large are mapped on their own) than sending it. A part may be made
 * as it is sent (a file's base64): such a body is never held whole, and sending it again makes it
 * again. Given to a request as a middleware option: the SDK would write any other object out as JSON.
 */
export class BodyParts implements MiddlewareOptions {
  readonly length: number;

  constructor(private readonly parts: readonly BodyPart[]) {
    this.length = parts.reduce((sum, part) => sum + part.length, 0);
  }

  *[Symbol.iterator](): Generator<Buffer> {
    for (const part of this.parts) {
      if (Buffer.isBuffer(part)) yield part;
      else yield* part;
    }
  }
}
