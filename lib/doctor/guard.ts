import { errorMessage, redactCredentials } from "@/lib/errors";
import { logger } from "@/lib/logger";
import type { CheckResult, Outcome } from "./types";

export const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * Runs one check: whatever it throws, and a check that does not finish in time, becomes a failed
 * result. The raw error goes to the server log only (it may quote a foreign server's words).
 */
export async function guarded(
  id: string,
  title: string,
  check: () => Promise<Outcome>,
  timeoutMs = DEFAULT_TIMEOUT_MS,
): Promise<CheckResult> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<Outcome>((resolve) => {
    timer = setTimeout(
      () =>
        resolve({
          status: "fail",
          detail: `No answer within ${Math.round(timeoutMs / 1000)} seconds.`,
          fix: "Check the address and that this server can reach it (firewall, proxy, DNS).",
        }),
      timeoutMs,
    );
  });
  try {
    return { id, title, ...(await Promise.race([check(), deadline])) };
  } catch (error) {
    logger.warn({ check: id, err: errorMessage(error) }, "doctor check failed unexpectedly");
    return {
      id,
      title,
      status: "fail",
      detail: `The check stopped on an unexpected error (${errorName(error)}); the server log has the details.`,
    };
  } finally {
    clearTimeout(timer);
  }
}

export function skipped(id: string, title: string, because: string): CheckResult {
  return { id, title, status: "skipped", detail: because };
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}

/**
 * Removes every secret from the report's words: the values themselves (and each line of a PEM key),
 * passwords in URLs and account keys or signatures in connection strings.
 */
export function scrub(text: string, secrets: readonly string[]): string {
  const pieces = secrets.flatMap((secret) => [secret, ...secret.split(/\r?\n/)]).filter((piece) => piece.length >= 8);
  const result = pieces.reduce((current, piece) => current.split(piece).join("[hidden]"), text);
  return redactCredentials(result);
}
