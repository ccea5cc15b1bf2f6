/** SQLSTATE classes and codes of a database that is gone for a moment (restart, failover, network). */
const UNAVAILABLE_SQLSTATES = /^(08...|57P0[1-3]|53300)$/;
// ENOTFOUND and EAI_AGAIN: a container's host name is gone from DNS while it restarts.
const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

/**
 * Prisma's own codes for the same (it throws them without the driver's error as a cause): P1001
 * "Can't reach database server", P1002 "reached but timed out", P1017 "Server has closed the connection".
 */
const PRISMA_UNAVAILABLE_CODES = new Set(["P1001", "P1002", "P1017"]);

/**
 * Whether an error only says that PostgreSQL could not be reached or dropped the connection: work
 * whose outcome could not be written is retried from the ledger once it is back.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let cause = error; cause && typeof cause === "object"; cause = (cause as { cause?: unknown }).cause) {
    const { code, syscall, message } = cause as { code?: unknown; syscall?: unknown; message?: unknown };
    if (
      typeof code === "string" &&
      (UNAVAILABLE_SQLSTATES.test(code) || NETWORK_CODES.has(code) || PRISMA_UNAVAILABLE_CODES.has(code))
    )
      return true;
    // A stopped server removes its Unix socket: connecting to it then fails as a missing file.
    if (code === "ENOENT" && syscall === "connect") return true;
    if (
      typeof message === "string" &&
      /Connection terminated|the database system is (shutting down|starting up)/i.test(message)
    )
      return true;
  }
  return false;
}
