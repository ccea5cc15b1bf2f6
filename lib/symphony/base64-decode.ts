import { Transform, type TransformCallback } from "node:stream";

const BASE64_TEXT = /^[A-Za-z0-9+/_-]*={0,2}$/;

/**
 * Decodes base64 text into bytes as it streams through, keeping at most three characters between
 * chunks. Whitespace (line breaks) and the quotes of a JSON string are ignored; any other
 * character that is not base64 fails the stream (with `invalid`'s error) instead of being dropped silently.
 */
export function createBase64Decoder(invalid: (reason: string) => Error = (reason) => new Error(reason)): Transform {
  let carry = "";
  let ended = false;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      const text = carry + chunk.toString("latin1").replace(/[\s"]/g, "");
      if (ended && text.length > 0) return callback(invalid("base64 data continues after padding"));
      if (!BASE64_TEXT.test(text)) return callback(invalid("attachment body is not base64 text"));
      const whole = text.length - (text.length % 4);
      carry = text.slice(whole);
      if (text.slice(0, whole).includes("=")) ended = true; // padding closes the data
      callback(null, whole > 0 ? Buffer.from(text.slice(0, whole), "base64") : undefined);
    },
    flush(callback: TransformCallback) {
      if (carry.length === 1) return callback(invalid("attachment body is truncated base64"));
      callback(null, carry.length > 0 ? Buffer.from(carry, "base64") : undefined);
    },
  });
}
