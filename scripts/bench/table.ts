// A plain-text table: one row per figure, its value, the target and whether it is met.
export type Row = { figure: string; value: string; target?: string; met?: boolean };

export function printTable(title: string, rows: Row[]): void {
  const widths = [
    Math.max(6, ...rows.map((r) => r.figure.length)),
    Math.max(5, ...rows.map((r) => r.value.length)),
    Math.max(6, ...rows.map((r) => (r.target ?? "").length)),
  ];
  const line = (cells: string[]) =>
    `| ${cells.map((cell, i) => (i === 1 ? cell.padStart(widths[i] ?? 3) : cell.padEnd(widths[i] ?? 3))).join(" | ")} |`;
  console.log(`\n${title}`);
  console.log(line(["figure", "value", "target", "met"]));
  console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|-----|`);
  for (const row of rows)
    console.log(line([row.figure, row.value, row.target ?? "", row.met === undefined ? "" : row.met ? "yes" : "NO "]));
}

export const fmt = (n: number, digits = 0) =>
  Number.isFinite(n)
    ? n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : "n/a";
