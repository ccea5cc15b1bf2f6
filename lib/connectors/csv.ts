// CSV writing for downloads: RFC 4180 quoting, and cells that a spreadsheet would run as a formula neutralised.
// Spreadsheets skip leading white space before deciding a cell is a formula, and some locales split
// cells on ";", so both are taken into account.
const FORMULA_START = /^[\s\u00a0\u3000]*[=+\-@|\t\r\uFF1D\uFF0B\uFF0D\uFF20\uFF5C]/;

// Characters that hide or reorder text (C0/C1 controls but tab and line breaks, bidi marks, overrides
// and isolates): a Symphony name or address carrying them would make a log line say something else.
const INVISIBLE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

// Text that needs none of the below (plain ASCII, no separator, quote or line break, no white space at
// either end, no formula start): written as it is, which is most cells of a large status log (whose
// cells, joined by PostgreSQL, are checked against the same pattern in status-log.ts).
export const PLAIN_CELL = String.raw`[\w.:/()!#$%&*?~](?:[\w.:/()!#$%&*?~@+= -]*[\w.:/()!#$%&*?~@+=-])?`;
const PLAIN = new RegExp(`^${PLAIN_CELL}$`);

/** A text cell: invisible characters shown escaped (`\u202E`), neutralised when a spreadsheet would read it as a formula. */
export function csvCell(value: string | number | bigint | null | undefined): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "string" && PLAIN.test(value)) return value;
  let text = String(value).replace(
    INVISIBLE,
    (c) => `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")}`,
  );
  if (typeof value === "string" && FORMULA_START.test(text)) text = `'${text}`;
  return quoted(text);
}

// Identifier cells written as they are: printable ASCII but a space, quote, comma or semicolon, and a
// letter, digit or underscore first, so never a formula (status-log.ts checks joined cells against it).
export const PLAIN_ID = String.raw`\w[!#-+\-.-:<-~]*`;
const PLAIN_ID_CELL = new RegExp(`^${PLAIN_ID}$`);

/**
 * An identifier cell (a message or item id): as it is when it cannot start a formula, which is every
 * Symphony id but those starting with "-" or "+"; otherwise neutralised like any text (an EML's
 * Message-ID is whatever its sender wrote).
 */
export function csvIdCell(value: string | null | undefined): string {
  if (value === null || value === undefined) return "";
  return PLAIN_ID_CELL.test(value) ? value : csvCell(value);
}

function quoted(text: string): string {
  return /[",;\r\n]/.test(text) || /^\s|\s$/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** A cell value; `{ id }` marks an identifier, written as it is unless it could start a formula. */
export type CsvValue = string | number | bigint | null | undefined | { id: string | null };

export function csvLine(cells: CsvValue[]): string {
  const rendered = cells.map((cell) =>
    typeof cell === "object" && cell !== null ? csvIdCell(cell.id) : csvCell(cell),
  );
  return `${rendered.join(",")}\r\n`;
}
