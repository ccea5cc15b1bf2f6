import { Parser } from "htmlparser2";
import type { ResolvedEntity } from "./entities";
import { ContentLimitError, formatBytes, MAX_ELEMENTS, MAX_HTML_BYTES } from "./limits";
import type { SafeElement, SafeNode } from "./safe-tree";
import type { Person } from "./types";

/** Tags kept as they are (attributes filtered separately). Everything else is unwrapped or dropped. */
const ALLOWED_TAGS = new Set([
  "p",
  "div",
  "span",
  "br",
  "hr",
  "b",
  "strong",
  "i",
  "em",
  "u",
  "s",
  "strike",
  "del",
  "ins",
  "sub",
  "sup",
  "small",
  "mark",
  "code",
  "pre",
  "kbd",
  "samp",
  "blockquote",
  "q",
  "cite",
  "abbr",
  "ul",
  "ol",
  "li",
  "dl",
  "dt",
  "dd",
  "table",
  "caption",
  "thead",
  "tbody",
  "tfoot",
  "tr",
  "th",
  "td",
  "h1",
  "h2",
  "h3",
  "h4",
  "h5",
  "h6",
  "a",
  "img",
]);

/** Tags removed together with their content: they run code, embed other documents or take input. */
const DROPPED_TAGS = new Set([
  "script",
  "style",
  "iframe",
  "frame",
  "frameset",
  "object",
  "embed",
  "applet",
  "param",
  "svg",
  "math",
  "template",
  "noscript",
  "noembed",
  "noframes",
  "xmp",
  "plaintext",
  "title",
  "head",
  "meta",
  "link",
  "base",
  "textarea",
  "select",
  "option",
  "optgroup",
  "button",
  "input",
  "audio",
  "video",
  "source",
  "track",
  "canvas",
  "map",
  "area",
  "portal",
  "dialog",
  "slot",
]);

/** Deeper markup is flattened to its text so that hostile nesting cannot exhaust the stack. */
const MAX_DEPTH = 100;

const SAFE_URL_PROTOCOLS = new Set(["http:", "https:", "mailto:"]);
const DIGITS = /^\d{1,4}$/;
const LANG = /^[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*$/;
const DIRECTIONS = new Set(["ltr", "rtl", "auto"]);

/**
 * Keeps a URL only when its scheme is allowed. The WHATWG parser is the one browsers use, so the
 * scheme seen here is the scheme a mail client sees ("java\tscript:" parses as javascript:).
 */
function safeUrl(value: string, protocols: ReadonlySet<string> = SAFE_URL_PROTOCOLS): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  return protocols.has(url.protocol) ? url.href : undefined;
}

const IMAGE_PROTOCOLS = new Set(["http:", "https:"]);

function safeAttributes(tag: string, input: Record<string, string>): Record<string, string> {
  const attrs: Record<string, string> = {};
  const dir = input.dir?.toLowerCase();
  if (dir && DIRECTIONS.has(dir)) attrs.dir = dir;
  if (input.lang && LANG.test(input.lang)) attrs.lang = input.lang;
  switch (tag) {
    case "a": {
      const href = input.href === undefined ? undefined : safeUrl(input.href);
      if (href) attrs.href = href;
      if (input.title) attrs.title = input.title;
      break;
    }
    case "img": {
      const src = input.src === undefined ? undefined : safeUrl(input.src, IMAGE_PROTOCOLS);
      if (src) attrs.src = src;
      if (input.alt) attrs.alt = input.alt;
      if (input.width && DIGITS.test(input.width)) attrs.width = input.width;
      if (input.height && DIGITS.test(input.height)) attrs.height = input.height;
      break;
    }
    case "td":
    case "th":
      if (input.colspan && DIGITS.test(input.colspan)) attrs.colspan = input.colspan;
      if (input.rowspan && DIGITS.test(input.rowspan)) attrs.rowspan = input.rowspan;
      break;
    case "ol":
      if (input.start && DIGITS.test(input.start)) attrs.start = input.start;
      break;
    case "abbr":
      if (input.title) attrs.title = input.title;
      break;
  }
  return attrs;
}

export interface SanitizeContext {
  entities: ReadonlyMap<string, ResolvedEntity>;
  /** People of the conversation, by user id and by lower-case email, to name mentions. */
  people: ReadonlyMap<string, Person>;
}

function textOf(nodes: SafeNode[]): string {
  let text = "";
  const stack = [...nodes].reverse();
  for (let node = stack.pop(); node; node = stack.pop()) {
    if (node.type === "text") text += node.text;
    else for (let i = node.children.length - 1; i >= 0; i--) stack.push(node.children[i]!);
  }
  return text;
}

function tagged(className: string, text: string): SafeElement {
  return { type: "element", tag: "span", attrs: { class: className }, children: [{ type: "text", text }] };
}

function mention(person: Person | undefined, fallback: string, shown: string): SafeElement {
  const text = shown.trim() || `@${person?.displayName || fallback}`;
  return tagged("mention", text.startsWith("@") ? text : `@${text}`);
}

/** Renders a PresentationML entity span (resolved through `data`), or keeps its text. */
function entityNodes(entity: ResolvedEntity | undefined, children: SafeNode[], ctx: SanitizeContext): SafeNode[] {
  const shown = textOf(children);
  switch (entity?.kind) {
    case "mention":
      return [mention(ctx.people.get(entity.userId), entity.userId, shown)];
    case "hashtag":
      return [tagged("hashtag", `#${entity.tag}`)];
    case "cashtag":
      return [tagged("cashtag", `$${entity.tag}`)];
    case "emoji":
      return [{ type: "text", text: entity.unicode || shown || `:${entity.shortcode ?? ""}:` }];
    default:
      return children;
  }
}

/** MessageML-style shorthand tags that may appear in stored content. */
function shorthandNodes(
  tag: string,
  attrs: Record<string, string>,
  children: SafeNode[],
  ctx: SanitizeContext,
): SafeNode[] {
  switch (tag) {
    case "mention": {
      const key = attrs.uid ?? attrs.email?.toLowerCase() ?? "";
      return [mention(ctx.people.get(key), attrs.uid ?? attrs.email ?? "unknown", textOf(children))];
    }
    case "hash":
      return [tagged("hashtag", `#${attrs.tag ?? textOf(children)}`)];
    case "cash":
      return [tagged("cashtag", `$${attrs.tag ?? textOf(children)}`)];
    default: // emoji
      return [{ type: "text", text: textOf(children) || `:${attrs.shortcode ?? ""}:` }];
  }
}

const SHORTHAND_TAGS = new Set(["mention", "hash", "cash", "emoji"]);

interface Frame {
  /** Where this element's content goes; null while inside a dropped element. */
  target: SafeNode[] | null;
  close?: () => void;
}

function pushAll(target: SafeNode[], nodes: SafeNode[]) {
  for (const node of nodes) target.push(node);
}

function appendText(target: SafeNode[], text: string) {
  const last = target[target.length - 1];
  if (last?.type === "text") last.text += text;
  else target.push({ type: "text", text });
}

/**
 * Parses PresentationML into an allow-listed tree: only known-safe tags and attributes survive,
 * script-capable content is removed, entities become readable mentions, hashtags and cashtags.
 * Throws ContentLimitError when the tree would hold more than MAX_ELEMENTS elements or more text
 * than fits in an HTML body of MAX_HTML_BYTES (entities can repeat a long name many times).
 */
export function sanitizePresentationML(markup: string, ctx: SanitizeContext): SafeNode[] {
  const root: SafeNode[] = [];
  const stack: Frame[] = [{ target: root }];
  let elements = 0;
  let chars = 0;
  const spendText = (length: number) => {
    chars += length;
    if (chars > MAX_HTML_BYTES) throw new ContentLimitError(`its text is larger than ${formatBytes(MAX_HTML_BYTES)}`);
  };
  const spendElement = () => {
    if (++elements > MAX_ELEMENTS)
      throw new ContentLimitError(`it has more than ${MAX_ELEMENTS.toLocaleString("en-US")} elements`);
  };
  /** Entities are rendered from their text (counted already) plus names and tags from `data` and people. */
  const pushRendered = (target: SafeNode[], nodes: SafeNode[], shownLength: number) => {
    spendElement();
    spendText(Math.max(0, textOf(nodes).length - shownLength));
    pushAll(target, nodes);
  };

  const parser = new Parser(
    {
      onopentag(name, attribs) {
        const parent = stack[stack.length - 1]?.target ?? null;
        if (parent === null || DROPPED_TAGS.has(name)) {
          stack.push({ target: null });
          return;
        }
        const entityId = attribs["data-entity-id"];
        if (entityId !== undefined && /(^|\s)entity(\s|$)/.test(attribs.class ?? "")) {
          const children: SafeNode[] = [];
          const entity = ctx.entities.get(entityId);
          stack.push({
            target: children,
            close: () => pushRendered(parent, entityNodes(entity, children, ctx), textOf(children).length),
          });
          return;
        }
        if (SHORTHAND_TAGS.has(name)) {
          const children: SafeNode[] = [];
          stack.push({
            target: children,
            close: () => pushRendered(parent, shorthandNodes(name, attribs, children, ctx), textOf(children).length),
          });
          return;
        }
        if (!ALLOWED_TAGS.has(name) || stack.length > MAX_DEPTH) {
          stack.push({ target: parent });
          return;
        }
        const attrs = safeAttributes(name, attribs);
        if (name === "img" && !attrs.src) {
          if (attrs.alt) {
            spendText(attrs.alt.length);
            appendText(parent, attrs.alt);
          }
          stack.push({ target: null });
          return;
        }
        spendElement();
        const element: SafeElement = { type: "element", tag: name, attrs, children: [] };
        parent.push(element);
        stack.push({ target: element.children });
      },
      ontext(text) {
        const target = stack[stack.length - 1]?.target ?? null;
        if (target === null) return;
        spendText(text.length);
        appendText(target, text);
      },
      onclosetag() {
        if (stack.length > 1) stack.pop()?.close?.();
      },
    },
    { decodeEntities: true, lowerCaseTags: true, lowerCaseAttributeNames: true, recognizeSelfClosing: true },
  );
  parser.end(markup);
  while (stack.length > 1) stack.pop()?.close?.();
  return root;
}
