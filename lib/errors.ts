/** The message of anything thrown, for logs and ledger reasons. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The error's class and message ("SymphonyError: sign-in refused"), for logs and run errors. */
export function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
