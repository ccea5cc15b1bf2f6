// A plain-text table: one row per figure, its value (or one value per column compared), the target
// and whether it is met.
export type Row = { figure: string; value: string | string[]; target?: string; met?: boolean | boolean[] };

/** `columns` names the values when rows carry several (e.g. the REST path and Content Export side by side). */
export function printTable(title: string, rows: Row[], columns: string[] = ["value"]): void {
  const cells = rows.map((row) => {
    const values = typeof row.value === "string" ? [row.value] : row.value;
    const met = row.met === undefined ? [] : typeof row.met === "boolean" ? [row.met] : row.met;
    return [
      row.figure,
      ...columns.map((_, i) => values[i] ?? ""),
      row.target ?? "",
      met.map((m) => (m ? "yes" : "NO")).join(" / "),
    ];
  });
  const header = ["figure", ...columns, "target", "met"];
  const isValue = (i: number) => i >= 1 && i <= columns.length;
  const widths = header.map((name, i) => Math.max(name.length, ...cells.map((row) => (row[i] ?? "").length)));
  const line = (row: string[]) =>
    `| ${row.map((cell, i) => (isValue(i) ? cell.padStart(widths[i] ?? 3) : cell.padEnd(widths[i] ?? 3))).join(" | ")} |`;
  console.log(`\n${title}`);
  console.log(line(header));
  console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const row of cells) console.log(line(row));
}

export const fmt = (n: number, digits = 0) =>
  Number.isFinite(n)
    ? n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : "n/a";
