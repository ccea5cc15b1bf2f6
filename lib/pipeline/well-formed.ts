const SURROGATE = /[\ud800-\udfff]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
/** How JSON.stringify writes a lone surrogate (pairs are written as they are); a rare false alarm only costs time. */
const ESCAPED_SURROGATE = /\\ud[89a-f][0-9a-f]{2}/i;

/**
 * `text` with each lone surrogate (half an emoji, cut by a bot) as U+FFFD: what UTF-8 makes of it in
 * the staged MIME and in PostgreSQL text, so that every copy of a message says the same.
 */
export function wellFormed(text: string): string {
  return SURROGATE.test(text) ? text.replace(LONE_SURROGATE, "\ufffd") : text;
}

/**
 * JSON.stringify of `value`, lone surrogates as U+FFFD: jsonb refuses them, and so may the JSON readers
 * of Graph (.NET's System.Text.Json refuses invalid UTF-16), where one would fail a whole `$batch`.
 */
export function wellFormedJson(value: unknown): string {
  const json = JSON.stringify(value);
  if (!ESCAPED_SURROGATE.test(json)) return json;
  return JSON.stringify(value, (_key, item: unknown) => (typeof item === "string" ? wellFormed(item) : item));
}
