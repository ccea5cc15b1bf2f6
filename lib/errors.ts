/** Query and connection-string parameters whose value is a credential. */
const CREDENTIAL_PARAMETERS =
  /\b(AccountKey|SharedAccessSignature|sig|authtoken|tempauth|access_token|refresh_token|id_token|client_secret|client_assertion|token)=[^;&\s"']+/gi;

/**
 * The text without the credentials an error's words may carry: a password in a URL, a token or key in
 * a query or connection string (a Graph upload session's URL is pre-authenticated), a bearer token.
 * Linear in the text's length: it runs on every error's words, which may quote hostile names.
 */
export function redactCredentials(text: string): string {
  return (
    text
      // \b: a scheme starts a word, so a long run of word characters is tried once, not from each of them.
      .replace(/\b(\w+:\/\/[^:/@\s]+:)[^@\s]+@/g, "$1[hidden]@")
      .replace(CREDENTIAL_PARAMETERS, "$1=[hidden]")
      .replace(/\bBearer\s+[A-Za-z0-9._~+/=-]{8,}/g, "Bearer [hidden]")
  );
}

/** The message of anything thrown, for logs and ledger reasons, with credentials hidden. */
export function errorMessage(error: unknown): string {
  return redactCredentials(error instanceof Error ? error.message : String(error));
}

/** The error's class and message ("SymphonyError: sign-in refused"), for logs and run errors, with credentials hidden. */
export function errorText(error: unknown): string {
  return redactCredentials(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
}
