import { VOID_TAGS, type SafeNode } from "./safe-tree";

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function escapeHtml(value: string): string {
  return /[&<>"']/.test(value) ? value.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c) : value;
}

/** The HTML body of an item whose content is not shown, only said why: the notice, in italics. */
export function noticeHtml(notice: string): string {
  return `<div dir="auto"><p><i>${escapeHtml(notice)}</i></p></div>`;
}

/** Attributes the renderer adds itself: links never open with access to the archive's window. */
function extraAttributes(tag: string, attrs: Record<string, string>): string {
  if (tag === "a" && attrs.href) return ' rel="noopener noreferrer" target="_blank"';
  if (tag === "table") return ' border="1" cellpadding="4" cellspacing="0"';
  return "";
}

function renderNodes(nodes: SafeNode[]): string {
  let html = "";
  for (const node of nodes) {
    if (node.type === "text") {
      html += escapeHtml(node.text);
      continue;
    }
    html += `<${node.tag}`;
    for (const [name, value] of Object.entries(node.attrs)) html += ` ${name}="${escapeHtml(value)}"`;
    html += `${extraAttributes(node.tag, node.attrs)}>`;
    if (!VOID_TAGS.has(node.tag)) html += `${renderNodes(node.children)}</${node.tag}>`;
  }
  return html;
}

/** Serializes a sanitized tree as an HTML fragment whose direction follows its text (RTL, CJK). */
export function renderHtml(nodes: SafeNode[]): string {
  return `<div dir="auto">${renderNodes(nodes)}</div>`;
}
