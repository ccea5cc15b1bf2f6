import { isAscii } from "node:buffer";
import type { z } from "zod";
import type { GraphCall, GraphRequest, GraphResponse } from "./graph-types";
import { graphError } from "./graph-types";

export type Parsed<T> = { ok: true; value: T } | { ok: false; response: GraphResponse };

/** Parses a JSON request body with a zod schema; Graph answers 400 for bad JSON and unknown properties. */
export function parseJsonBody<T extends z.ZodType>(call: GraphCall, req: GraphRequest, schema: T): Parsed<z.output<T>> {
  let json: unknown = req.json;
  try {
    json ??= JSON.parse(jsonText(req.body) || "null");
  } catch {
    return { ok: false, response: graphError(400, "RequestBodyRead", "Invalid JSON in the request body.", call) };
  }
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    return { ok: false, response: graphError(400, "RequestBodyRead", "The request body must be a JSON object.", call) };
  }
  const data = Object.fromEntries(
    Object.entries(json).filter(([key]) => key === "@odata.type" || !key.startsWith("@odata")),
  );
  const result = schema.safeParse(data);
  if (!result.success) {
    // A failed parse reports at least one issue.
    const issue = result.error.issues[0]!;
    const unknown = issue.code === "unrecognized_keys" ? issue.keys[0] : null;
    const message = unknown
      ? `The property '${unknown}' does not exist on this type.`
      : `Invalid request body: ${issue.path.join(".") || "(root)"}: ${issue.message}`;
    return { ok: false, response: graphError(400, unknown ? "RequestBodyRead" : "ErrorInvalidRequest", message, call) };
  }
  return { ok: true, value: result.data };
}

/**
 * A JSON body's text. Nearly every body is ASCII (JSON.stringify of a mail with base64 files), and
 * Node reads ASCII bytes of a large body without the copy a UTF-8 decode of megabytes costs.
 */
function jsonText(body: Buffer): string {
  return body.toString(isAscii(body) ? "ascii" : "utf8");
}

/** Characters JSON.stringify writes as they are, one byte each in UTF-8. */
const NOT_PLAIN = /[^\x20\x21\x23-\x5b\x5d-\x7e]/;

/**
 * The UTF-8 bytes of JSON.stringify(value) for a value JSON.parse made, counted without writing the
 * text out: a batch's sub-request is sized as it would be sent alone, and its base64 files are most of it.
 */
export function jsonByteLength(value: unknown): number {
  if (typeof value === "string")
    return NOT_PLAIN.test(value) ? Buffer.byteLength(JSON.stringify(value)) : value.length + 2;
  if (value === null || typeof value !== "object") return String(JSON.stringify(value)).length;
  if (Array.isArray(value)) {
    let bytes = 2 + Math.max(0, value.length - 1);
    for (const item of value as unknown[]) bytes += item === undefined ? 4 : jsonByteLength(item);
    return bytes;
  }
  let bytes = 2;
  let members = 0;
  for (const [key, item] of Object.entries(value)) {
    if (item === undefined) continue;
    bytes += (members++ > 0 ? 1 : 0) + jsonByteLength(key) + 1 + jsonByteLength(item);
  }
  return bytes;
}
