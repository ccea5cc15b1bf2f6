import { randomUUID } from "node:crypto";
import type { ServerResponse } from "node:http";
import { sendJson } from "./http";

/** Entra ID's OAuth error body: AADSTS code in error_codes and at the start of error_description. */
export function sendEntraError(
  res: ServerResponse,
  status: number,
  error: string,
  aadsts: number,
  description: string,
  correlationId: string = randomUUID(),
): void {
  const traceId = randomUUID();
  const timestamp = new Date()
    .toISOString()
    .replace("T", " ")
    .replace(/\.\d+Z$/, "Z");
  sendJson(res, status, {
    error,
    error_description: `AADSTS${aadsts}: ${description} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${timestamp}`,
    error_codes: [aadsts],
    timestamp,
    trace_id: traceId,
    correlation_id: correlationId,
    error_uri: `https://login.microsoftonline.com/error?code=${aadsts}`,
  });
}
