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
 * Accumulates text and remembers its last character, so that line and space handling never has
 * to look back into (and flatten) a long concatenated string.
 */
interface Writer {
  parts: string[];
  last: string;
}

function write(out: Writer, text: string) {
  if (text === "") return;
  out.parts.push(text);
  out.last = text[text.length - 1];
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

function renderList(list: SafeElement): string {
  let number = Number(list.attrs.start ?? 1);
  let out = "";
  for (const item of list.children) {
    if (item.type === "text") {
      if (item.text.trim()) out += `${item.text.trim()}\n`;
      continue;
    }
    const marker = list.tag === "ol" ? `${number++}. ` : "- ";
    const content = renderBlock(item.tag === "li" ? item.children : [item], false).trim();
    out += `${indentLines(content, marker, " ".repeat(marker.length))}\n`;
  }
  return out;
}

function tableRows(table: SafeElement): { cells: string[]; header: boolean }[] {
  const rows: { cells: string[]; header: boolean }[] = [];
  const visit = (nodes: SafeNode[]) => {
    for (const node of nodes) {
      if (node.type !== "element") continue;
      if (node.tag === "tr") {
        const cells = node.children.filter(
          (c): c is SafeElement => c.type === "element" && (c.tag === "td" || c.tag === "th"),
        );
        rows.push({
          cells: cells.map((c) =>
            renderBlock(c.children, false)
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

/** A table as aligned columns separated by " | ", with a rule under header rows. */
function renderTable(table: SafeElement): string {
  const rows = tableRows(table);
  const widths: number[] = [];
  for (const row of rows) row.cells.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  let out = "";
  for (const row of rows) {
    out += `${row.cells
      .map((cell, i) => cell.padEnd(widths[i]))
      .join(" | ")
      .trimEnd()}\n`;
    if (row.header)
      out += `${widths
        .slice(0, row.cells.length)
        .map((w) => "-".repeat(w))
        .join("-|-")}\n`;
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
        write(out, renderList(node));
        break;
      case "table":
        endLine(out);
        write(out, renderTable(node));
        break;
      case "blockquote":
        endLine(out);
        write(out, `${indentLines(renderBlock(node.children, preformatted).trim(), "> ", "> ")}\n`);
        break;
      case "a": {
        const label = renderBlock(node.children, preformatted);
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

function renderBlock(nodes: SafeNode[], preformatted: boolean): string {
  const out: Writer = { parts: [], last: "" };
  writeBlock(out, nodes, preformatted);
  return out.parts.join("");
}

/** Readable plain text: paragraphs on their own lines, lists with markers, tables as columns. */
export function renderText(nodes: SafeNode[]): string {
  return renderBlock(nodes, false)
    .split("\n")
    .map((line) => line.trimEnd())
    .join("\n")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
}
