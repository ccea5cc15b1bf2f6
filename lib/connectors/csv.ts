// CSV writing for downloads: RFC 4180 quoting, and cells that a spreadsheet would run as a formula neutralised.
const FORMULA_START = /^[=+\-@\t\r]/;

export function csvCell(value: string | number | bigint | null | undefined): string {
  if (value === null || value === undefined) return "";
  let text = String(value);
  if (typeof value === "string" && FORMULA_START.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function csvLine(cells: (string | number | bigint | null | undefined)[]): string {
  return `${cells.map(csvCell).join(",")}\r\n`;
}
