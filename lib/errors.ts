/** Query and connection-string parameters whose value is a credential. */
const CREDENTIAL_PARAMETERS =
  /\b(AccountKey|SharedAccessSignature|sig|authtoken|tempauth|access_token|refresh_token|id_token|client_secret|client_assertion|token)=[^;&\s"']+/gi;

/**
 * The text without the credentials an error's words may carry: a password in a URL, a token or key in
 * a query or connection string (a Graph upload session's URL is pre-authenticated), a bearer token.
 */
export function redactCredentials(text: string): string {
  return text
    .replace(/(\w+:\/\/[^:/@\s]+:)[^@\s]+@/g, "$1[hidden]@")
    .replace(CREDENTIAL_PARAMETERS, "$1=[hidden]")
    .replace(/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/g, "$1 [hidden]");
}

/** The message of anything thrown, for logs and ledger reasons, with credentials hidden. */
export function errorMessage(error: unknown): string {
  return redactCredentials(error instanceof Error ? error.message : String(error));
}

/** The error's class and message ("SymphonyError: sign-in refused"), for logs and run errors, with credentials hidden. */
export function errorText(error: unknown): string {
  return redactCredentials(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
}
