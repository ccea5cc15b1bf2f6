import { domainToASCII } from "node:url";

/**
 * How names, subjects and file names from Symphony are shown in the archive: the literal text that
 * was sent (`=?utf-8?B?…?=`, `<`, `"` and `\` included, never decoded or interpreted), except
 * characters that cannot be seen or that reorder what is seen, which are written as visible
 * `\uXXXX` escapes: control characters (C0, DEL, C1 such as NEL), line and paragraph separators,
 * lone surrogates, and bidirectional embeddings, overrides and isolates (U+202A-U+202E,
 * U+2066-U+2069, the "invoice\u202Efdp.exe" trick). File names also escape the bidirectional marks
 * (U+200E, U+200F, U+061C), which can move an extension as well.
 */
const INVISIBLE =
  /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const INVISIBLE_IN_FILE_NAMES =
  /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

function escapeCodeUnit(character: string): string {
  return `\\u${character.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")}`;
}

/** `text` with invisible and reordering characters written as `\uXXXX`. */
export function visibleText(text: string): string {
  return text.replace(INVISIBLE, escapeCodeUnit);
}

/** At most `max` UTF-16 units, never splitting a surrogate pair, with "…" when shortened. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max - 1;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${text.slice(0, end)}…`;
}

/** Longest display name carried into the archive (Symphony's are far shorter). */
export const MAX_NAME_LENGTH = 256;
/** Longest attachment name (what file systems take); the extension is kept when shortened. */
export const MAX_FILE_NAME_LENGTH = 255;

export function visibleName(name: string): string {
  return visibleHead(name, MAX_NAME_LENGTH);
}

/**
 * truncate(visibleText(text), max), escaping only the head that can be shown: escapes only lengthen
 * the text, so what follows its first max + 1 units never reaches the result, and a name of millions
 * of escaped characters would otherwise take the heap.
 */
export function visibleHead(text: string, max: number): string {
  return truncate(visibleText(text.length > max + 1 ? text.slice(0, max + 1) : text), max);
}

export function visibleFileName(name: string): string {
  const visible = name.replace(INVISIBLE_IN_FILE_NAMES, escapeCodeUnit).trim() || "attachment";
  if (visible.length <= MAX_FILE_NAME_LENGTH) return visible;
  const extension = /\.[^.\s]{1,16}$/.exec(visible)?.[0] ?? "";
  return (
    truncate(visible.slice(0, visible.length - extension.length), MAX_FILE_NAME_LENGTH - extension.length) + extension
  );
}

const ATEXT = "A-Za-z0-9!#$%&'*+\\-/=?^_`{|}~";
const LABEL = "(?!-)[A-Za-z0-9-]{1,63}(?<!-)";
/** Dot-atom local part of 1-64 characters, host name of labels; 254 characters at most. */
const PLAIN_ADDRESS = new RegExp(
  `^(?=.{3,254}$)(?=[^@]{1,64}@)[${ATEXT}]+(?:\\.[${ATEXT}]+)*@${LABEL}(?:\\.${LABEL})*$`,
);

/**
 * `email` as an address that every mail header and Graph take literally, or undefined when it is not
 * one: an ASCII dot-atom local part (no quoted strings, so no spaces, `"`, `\`, `[`, `]`, bidi
 * controls or NEL) without encoded-word syntax (`=?`), and a host name (no address literal in
 * `[ ]`). A domain in Unicode is written in its ASCII (punycode) form.
 */
export function safeAddress(email: string | undefined): string | undefined {
  if (email === undefined) return undefined;
  // The same people write message after message: their addresses are checked once (a bounded memo).
  if (checkedAddresses.has(email)) return checkedAddresses.get(email);
  const checked = checkAddress(email);
  if (checkedAddresses.size >= 10_000) checkedAddresses.clear();
  checkedAddresses.set(email, checked);
  return checked;
}

const checkedAddresses = new Map<string, string | undefined>();

function checkAddress(email: string): string | undefined {
  let address = email.trim();
  const at = address.lastIndexOf("@");
  if (at > 0 && /[^\x00-\x7f]/.test(address.slice(at + 1))) {
    address = `${address.slice(0, at)}@${domainToASCII(address.slice(at + 1))}`;
  }
  return PLAIN_ADDRESS.test(address) && !address.includes("=?") ? address : undefined;
}
