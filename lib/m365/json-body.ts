import { asBuffer } from "@/lib/async";
import { base64Length } from "@/lib/base64";
import { BodyParts, type BodyPart } from "./body-parts";

/** A file to carry in a JSON body as `contentBytes`: its other fields, and its bytes. */
export type JsonFile = { fields: Record<string, unknown>; bytes: Uint8Array };

/**
 * Bytes encoded per piece: a multiple of 3, so that pieces join without padding, and small enough that
 * each piece's base64 string (64 KiB) is made in V8's young generation, never in its large-object
 * space, which counts toward the next full collection.
 */
const PIECE_BYTES = 48 * 1024;

/**
 * The standard base64 of `bytes`, made piece by piece each time the body is sent (Node's encoder, 6-8
 * times the speed of encoding byte by byte in JavaScript). Made once and kept, a create's base64 lived
 * as long as its message's items waited for their mailboxes, and was freed only by a full collection.
 */
function base64Part(bytes: Uint8Array): BodyPart {
  const view = asBuffer(bytes);
  return {
    length: base64Length(view.length),
    *[Symbol.iterator]() {
      for (let i = 0; i < view.length; i += PIECE_BYTES) {
        yield Buffer.from(view.subarray(i, i + PIECE_BYTES).toString("base64"), "latin1");
      }
    },
  };
}

/**
 * The UTF-8 JSON of `body` with `files` as an array under `key`, each file's bytes as base64 in
 * `contentBytes`: the bytes JSON.stringify would give, without the base64 and the whole body ever
 * being JavaScript strings (as strings they cost more CPU than the rest of the import together: V8
 * copies every large string it makes, and a single non-ASCII character in the message makes encoding
 * the whole body slow). Without files, one buffer; with them, parts whose base64 is made as it is sent.
 */
export function jsonWithFiles(body: Record<string, unknown>, key: string, files: JsonFile[]): Buffer | BodyParts {
  const { [key]: _replaced, ...rest } = body;
  if (files.length === 0) return Buffer.from(JSON.stringify(rest));
  const head = JSON.stringify({ ...rest, [key]: [] }).slice(0, -2); // up to and with "["
  return new BodyParts(
    files
      .flatMap((file, n) => {
        const fields = JSON.stringify(file.fields);
        // {…fields,"contentBytes":" (an empty object has no comma to add)
        const before = `${n > 0 ? '"},' : head}${fields.slice(0, -1)}${fields === "{}" ? "" : ","}"contentBytes":"`;
        return [Buffer.from(before), base64Part(file.bytes)];
      })
      .concat(Buffer.from('"}]}')),
  );
}
