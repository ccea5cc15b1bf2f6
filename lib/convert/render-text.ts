import { ContentLimitError, MAX_COLUMN_WIDTH, MAX_TEXT_WORK_CHARS } from "./limits";
import type { SafeElement, SafeNode } from "./safe-tree";

const BLOCK_TAGS = new Set([
  "p",
  "div",
  "h1",
  "h2",
  "h3",
  "h4",
  "h5",
  "h6",
  "dl",
  "dt",
  "dd",
  "caption",
  "li",
  "tr",
  "thead",
  "tbody",
  "tfoot",
]);

/**
 * What one rendering may still produce, intermediate strings included: nested lists, quotes and
 * tables render their content first and then indent or align it, so without a budget hostile
 * nesting could multiply the output (each level copies and indents everything below it).
 */
interface Budget {
  chars: number;
}

/**
 * Accumulates text and remembers its last character, so that line and space handling never has
 * to look back into (and flatten) a long concatenated string.
 */
interface Writer {
  parts: string[];
  last: string;
  budget: Budget;
}

function spend(budget: Budget, chars: number) {
  budget.chars -= chars;
  if (budget.chars < 0) throw new ContentLimitError("its plain-text rendering is too large");
}

function write(out: Writer, text: string) {
  if (text === "") return;
  spend(out.budget, text.length);
  out.parts.push(text);
  out.last = text.charAt(text.length - 1);
}

function endLine(out: Writer) {
  if (out.last !== "" && out.last !== "\n") write(out, "\n");
}

function indentLines(text: string, first: string, rest: string): string {
  return text
    .split("\n")
    .map((line, i) => (i === 0 ? first : line ? rest : "") + line)
    .join("\n");
}

function renderList(list: SafeElement, budget: Budget): string {
  let number = Number(list.attrs.start ?? 1);
  let out = "";
  for (const item of list.children) {
    if (item.type === "text") {
      if (item.text.trim()) out += `${item.text.trim()}\n`;
      continue;
    }
    const marker = list.tag === "ol" ? `${number++}. ` : "- ";
    const content = renderBlock(item.tag === "li" ? item.children : [item], false, budget).trim();
    out += `${indentLines(content, marker, " ".repeat(marker.length))}\n`;
  }
  return out;
}

type TableRow = { cells: string[]; header: boolean };

function tableRows(table: SafeElement, budget: Budget): TableRow[] {
  const rows: TableRow[] = [];
  const visit = (nodes: SafeNode[]) => {
    for (const node of nodes) {
      if (node.type !== "element") continue;
      if (node.tag === "tr") {
        const cells = node.children.filter(
          (c): c is SafeElement => c.type === "element" && (c.tag === "td" || c.tag === "th"),
        );
        rows.push({
          cells: cells.map((c) =>
            renderBlock(c.children, false, budget)
              .replace(/\s*\n\s*/g, " ")
              .trim(),
          ),
          header: cells.length > 0 && cells.every((c) => c.tag === "th"),
        });
      } else if (node.tag === "thead" || node.tag === "tbody" || node.tag === "tfoot") {
        visit(node.children);
      }
    }
  };
  visit(table.children);
  return rows;
}

/**
 * A table as columns separated by " | ", with a rule under header rows. Columns are aligned up to
 * MAX_COLUMN_WIDTH: a longer cell is written whole and not padded, and does not widen its column
 * (one 20,000-character cell must not pad every other row to 20,000 characters).
 */
function renderTable(table: SafeElement, budget: Budget): string {
  const rows = tableRows(table, budget);
  const widths: number[] = [];
  for (const row of rows) {
    row.cells.forEach((cell, i) => (widths[i] = Math.min(MAX_COLUMN_WIDTH, Math.max(widths[i] ?? 0, cell.length))));
  }
  let out = "";
  for (const row of rows) {
    const line = `${row.cells
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join(" | ")
      .trimEnd()}\n`;
    spend(budget, line.length);
    out += line;
    if (row.header) {
      const rule = `${widths
        .slice(0, row.cells.length)
        .map((w) => "-".repeat(w))
        .join("-|-")}\n`;
      spend(budget, rule.length);
      out += rule;
    }
  }
  return out;
}

function writeInline(out: Writer, text: string) {
  const collapsed = text.replace(/\s+/g, " ");
  const atLineStart = out.last === "" || out.last === " " || out.last === "\n";
  write(out, collapsed.startsWith(" ") && atLineStart ? collapsed.slice(1) : collapsed);
}

function writeBlock(out: Writer, nodes: SafeNode[], preformatted: boolean) {
  for (const node of nodes) {
    if (node.type === "text") {
      if (preformatted) write(out, node.text);
      else writeInline(out, node.text);
      continue;
    }
    switch (node.tag) {
      case "br":
        write(out, "\n");
        break;
      case "hr":
        endLine(out);
        write(out, "----\n");
        break;
      case "img":
        write(out, `[${node.attrs.alt || "image"}]`);
        break;
      case "pre":
        endLine(out);
        writeBlock(out, node.children, true);
        endLine(out);
        break;
      case "ul":
      case "ol":
        endLine(out);
        write(out, renderList(node, out.budget));
        break;
      case "table":
        endLine(out);
        write(out, renderTable(node, out.budget));
        break;
      case "blockquote":
        endLine(out);
        write(out, `${indentLines(renderBlock(node.children, preformatted, out.budget).trim(), "> ", "> ")}\n`);
        break;
      case "a": {
        const label = renderBlock(node.children, preformatted, out.budget);
        const href = node.attrs.href;
        const shown = href?.startsWith("mailto:") ? href.slice("mailto:".length) : href;
        write(out, href && shown !== label.trim() ? `${label} <${shown}>` : label);
        break;
      }
      default:
        if (BLOCK_TAGS.has(node.tag)) {
          endLine(out);
          writeBlock(out, node.children, preformatted);
          endLine(out);
        } else {
          writeBlock(out, node.children, preformatted);
        }
    }
  }
}

function renderBlock(nodes: SafeNode[], preformatted: boolean, budget: Budget): string {
  const out: Writer = { parts: [], last: "", budget };
  writeBlock(out, nodes, preformatted);
  return out.parts.join("");
}

/**
 * Readable plain text: paragraphs on their own lines, lists with markers, tables as columns.
 * Throws ContentLimitError when rendering would produce more than `maxWorkChars` characters, the
 * strings of nested structures included.
 */
export function renderText(nodes: SafeNode[], maxWorkChars = MAX_TEXT_WORK_CHARS): string {
  return renderBlock(nodes, false, { chars: maxWorkChars })
    .split("\n")
    .map((line) => line.trimEnd())
    .join("\n")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
}
