import type { z } from "zod";
import type { GraphCall, GraphRequest, GraphResponse } from "./graph-types";
import { graphError } from "./graph-types";

export type Parsed<T> = { ok: true; value: T } | { ok: false; response: GraphResponse };

/** Parses a JSON request body with a zod schema; Graph answers 400 for bad JSON and unknown properties. */
export function parseJsonBody<T extends z.ZodType>(call: GraphCall, req: GraphRequest, schema: T): Parsed<z.output<T>> {
  let json: unknown = req.json;
  try {
    json ??= JSON.parse(req.body.toString("utf8") || "null");
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
