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

/**
 * Tags removed together with their content: they run code or embed other documents. Form controls
 * and audio are not here: they are Symphony Elements and chimes, written as text (see below).
 */
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

/*
 * Symphony Elements, the interactive forms bots send (buttons, text fields, text areas, dropdown
 * menus, checkboxes, radio buttons, person and room selectors, date, time and timezone pickers:
 * https://docs.developers.symphony.com/bots/messages/overview-of-messageml/symphony-elements-1),
 * and chimes. The agent turns their MessageML into HTML form controls; the PresentationML below is
 * what Symphony's own converter writes (finos/messageml-utils, the tests in
 * src/test/java/org/finos/symphony/messageml/messagemlutils/elements/form/ and ChimeTest.java),
 * each followed by how it is written here:
 *
 *   <button type="action" name="b">Accept</button>                      [button: Accept]
 *   <div class="textfield-group"><label for="x">Amount</label>           Amount
 *     <span class="info-hint" data-target-id="x" data-title="In EUR"></span>  [hint: In EUR]
 *     <input type="text" name="q" placeholder="Quantity" value="5M"/>    [text field, placeholder "Quantity": 5M]
 *   </div>
 *   <textarea name="t" placeholder="Terms">line 1\nline 2</textarea>      [text area, placeholder "Terms": line 1<br>line 2]
 *   <select name="s"><option value="b">Buy</option>
 *     <option value="s" selected="true">Sell</option></select>          [dropdown: Buy | Sell (selected)]
 *   <div class="checkbox-group"><input type="checkbox" name="c" value="v" checked="true"/>
 *     <label>I agree</label></div>                                      [checkbox, checked] I agree
 *   <div class="radio-group"><input type="radio" …/><label>X</label></div>  [radio button] X
 *   <div class="person-selector" data-name="p" data-placeholder="Who"></div>  [person selector, placeholder "Who"]
 *   <input type="date" value="2020-09-15"/>, <input type="time" …/>       [date picker: 2020-09-15], [time picker]
 *   <audio src="https://asset.symphony.com/symphony/audio/chime.mp3" autoplay="true"/>  [chime]
 *
 * Their MessageML forms (<text-field>, <checkbox>, <radio>, <chime/>, <person-selector>, …, with
 * `label` and `title` attributes) are written the same way. Only text reaches the mailbox: no form
 * control, field name, submitted value, action or handler.
 */

/** What the reader sees of one Element: "[kind]", "[kind: value]", "[kind, placeholder "p": value]". */
interface Described {
  kind: string;
  placeholder?: string;
  value?: string;
  /** Keep the value's line breaks (a text area's text); other values are one line of text. */
  multiline?: boolean;
}

const INPUT_KINDS: ReadonlyMap<string, string> = new Map([
  ["text", "text field"],
  ["password", "masked text field"],
  ["date", "date picker"],
  ["time", "time picker"],
]);

/** Elements rendered as a div with this class in PresentationML, or as a tag of this name in MessageML. */
const PICKER_KINDS: ReadonlyMap<string, string> = new Map([
  ["person-selector", "person selector"],
  ["room-selector", "room selector"],
  ["date-selector", "date selector"],
  ["timezone-picker", "timezone picker"],
  ["date-picker", "date picker"],
  ["time-picker", "time picker"],
]);

/** Elements whose content is their text (a label, a value or options). */
const COLLECTED_ELEMENTS = new Set([
  "button",
  "textarea",
  "richtextarea",
  "text-field",
  "select",
  "option",
  "checkbox",
  "radio",
]);

const CHIME_SRC = /\/chime\.mp3(?:[?#]|$)/i;

/** Symphony writes boolean attributes as "true"/"false"; HTML as present (any value) or absent. */
function isSet(value: string | undefined): boolean {
  return value !== undefined && value.trim().toLowerCase() !== "false";
}

function checkedKind(kind: string, attribs: Record<string, string>): string {
  return isSet(attribs.checked) ? `${kind}, checked` : kind;
}

function hasClass(attribs: Record<string, string>, name: string): boolean {
  return (attribs.class ?? "").split(/\s+/).includes(name);
}

function elementSpan({ kind, placeholder, value, multiline }: Described): SafeElement {
  const children: SafeNode[] = [];
  appendText(children, placeholder?.trim() ? `[${kind}, placeholder "${placeholder.trim()}"` : `[${kind}`);
  const shown = multiline ? value : value?.trim();
  if (shown?.trim()) {
    appendText(children, ": ");
    shown.split(/\r\n?|\n/).forEach((line, i) => {
      if (i > 0) children.push({ type: "element", tag: "br", attrs: {}, children: [] });
      if (line) appendText(children, line);
    });
  }
  appendText(children, "]");
  return { type: "element", tag: "span", attrs: { class: "symphony-element" }, children };
}

/** An Element with the label and hint (title) that MessageML carries as attributes, in front. */
function elementNodes(described: Described, attribs: Record<string, string>): SafeNode[] {
  const nodes: SafeNode[] = [];
  if (attribs.label?.trim()) nodes.push({ type: "text", text: `${attribs.label.trim()} ` });
  if (attribs.title?.trim())
    nodes.push(elementSpan({ kind: "hint", value: attribs.title }), { type: "text", text: " " });
  nodes.push(elementSpan(described));
  return nodes;
}

/**
 * An Element written from its attributes alone (its content, if any, stays as text unless
 * `dropContent`), or undefined when the tag is not one.
 */
function markerOf(
  name: string,
  attribs: Record<string, string>,
): { described: Described; dropContent: boolean } | undefined {
  switch (name) {
    case "input": {
      const type = (attribs.type ?? "text").trim().toLowerCase();
      if (type === "checkbox" || type === "radio") {
        return {
          described: { kind: checkedKind(type === "radio" ? "radio button" : "checkbox", attribs) },
          dropContent: true,
        };
      }
      const kind =
        type === "text" && isSet(attribs["data-masked"])
          ? "masked text field"
          : (INPUT_KINDS.get(type) ?? "input field");
      return { described: { kind, placeholder: attribs.placeholder, value: attribs.value }, dropContent: true };
    }
    case "audio":
      return { described: { kind: CHIME_SRC.test(attribs.src ?? "") ? "chime" : "audio" }, dropContent: true };
    case "chime":
      return { described: { kind: "chime" }, dropContent: true };
    case "span":
      return hasClass(attribs, "info-hint") && attribs["data-title"]?.trim()
        ? { described: { kind: "hint", value: attribs["data-title"] }, dropContent: false }
        : undefined;
    case "div": {
      const kind = (attribs.class ?? "")
        .split(/\s+/)
        .map((c) => PICKER_KINDS.get(c))
        .find(Boolean);
      return kind
        ? {
            described: { kind, placeholder: attribs["data-placeholder"], value: attribs["data-value"] },
            dropContent: false,
          }
        : undefined;
    }
    default: {
      const kind = PICKER_KINDS.get(name);
      return kind
        ? { described: { kind, placeholder: attribs.placeholder, value: attribs.value }, dropContent: false }
        : undefined;
    }
  }
}

interface OptionText {
  text: string;
  selected: boolean;
}

/** An Element whose content was collected: `text` is that content, `options` a select's options. */
function collectedNodes(
  name: string,
  attribs: Record<string, string>,
  text: string,
  options: OptionText[],
): SafeNode[] {
  switch (name) {
    case "button":
      return elementNodes(
        { kind: attribs.type?.trim().toLowerCase() === "reset" ? "reset button" : "button", value: text },
        attribs,
      );
    case "textarea":
    case "richtextarea":
      // As in HTML, a line break right after the start tag is not part of the text.
      return elementNodes(
        { kind: "text area", placeholder: attribs.placeholder, value: text.replace(/^\r?\n/, ""), multiline: true },
        attribs,
      );
    case "text-field":
      return elementNodes(
        {
          kind: isSet(attribs.masked) ? "masked text field" : "text field",
          placeholder: attribs.placeholder,
          value: text,
        },
        attribs,
      );
    case "select": {
      const items = options
        .filter((option) => option.text.trim() || option.selected)
        .map((option) => (option.selected ? `${option.text.trim()} (selected)` : option.text.trim()));
      if (text.trim()) items.push(text.trim()); // text outside the options is kept too
      const placeholder = attribs["data-placeholder"] ?? attribs.placeholder;
      return elementNodes({ kind: "dropdown", placeholder, value: items.join(" | ") }, attribs);
    }
    case "option":
      return elementNodes({ kind: isSet(attribs.selected) ? "option, selected" : "option", value: text }, attribs);
    default: {
      // MessageML checkbox and radio: the content is the label, shown after the box as in Symphony.
      const nodes = elementNodes(
        { kind: checkedKind(name === "radio" ? "radio button" : "checkbox", attribs) },
        attribs,
      );
      if (text.trim()) nodes.push({ type: "text", text: ` ${text.trim()}` });
      return nodes;
    }
  }
}

/** A form control whose content is being collected; `options` only for a select. */
interface Control {
  options?: OptionText[];
}

interface Frame {
  /** Where this element's content goes; null while inside a dropped element. */
  target: SafeNode[] | null;
  close?: () => void;
  /** Set inside a form control: its content is collected as text, nested controls included. */
  control?: Control;
}

function pushAll(target: SafeNode[], nodes: SafeNode[]) {
  for (const node of nodes) target.push(node);
}

function appendText(target: SafeNode[], text: string) {
  const last = target[target.length - 1];
  if (last?.type === "text") last.text += text;
  else target.push({ type: "text", text });
}

function elementCount(nodes: SafeNode[]): number {
  let count = 0;
  const stack = [...nodes];
  for (let node = stack.pop(); node; node = stack.pop()) {
    if (node.type === "element") {
      count++;
      pushAll(stack, node.children);
    }
  }
  return count;
}

/**
 * Parses PresentationML into an allow-listed tree: only known-safe tags and attributes survive,
 * script-capable content is removed, entities become readable mentions, hashtags and cashtags, and
 * Symphony Elements (form controls) and chimes become bracketed text such as "[button: Accept]".
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

  /**
   * Writes a Symphony Element into `target` as inline text set apart from its neighbours by spaces.
   * `shownLength` characters of its text were counted already (they came from the markup's text).
   */
  const pushElement = (target: SafeNode[], nodes: SafeNode[], shownLength: number) => {
    const last = target[target.length - 1];
    const all: SafeNode[] =
      last && !(last.type === "text" && /\s$/.test(last.text)) ? [{ type: "text", text: " " }] : [];
    pushAll(all, nodes);
    all.push({ type: "text", text: " " });
    for (let count = elementCount(all); count > 0; count--) spendElement();
    spendText(Math.max(0, textOf(all).length - shownLength));
    for (const node of all) {
      if (node.type === "text") appendText(target, node.text);
      else target.push(node);
    }
  };

  /** Symphony Elements and chimes (see above); false when `name` is none of them. */
  const openElement = (
    name: string,
    attribs: Record<string, string>,
    parent: SafeNode[],
    control: Control | undefined,
  ): boolean => {
    const options = control?.options;
    if (name === "option" && options) {
      const children: SafeNode[] = [];
      stack.push({
        target: children,
        control: {},
        close: () => options.push({ text: textOf(children), selected: isSet(attribs.selected) }),
      });
      return true;
    }
    const marker = markerOf(name, attribs);
    if (marker) {
      const nodes = elementNodes(marker.described, attribs);
      if (control) {
        // Inside a control (an input in a button): part of its text.
        const text = textOf(nodes);
        spendText(text.length);
        appendText(parent, text);
      } else {
        pushElement(parent, nodes, 0);
      }
      stack.push({ target: marker.dropContent ? null : parent, control });
      return true;
    }
    if (!control && COLLECTED_ELEMENTS.has(name)) {
      const children: SafeNode[] = [];
      const collected: Control = name === "select" ? { options: [] } : {};
      stack.push({
        target: children,
        control: collected,
        close: () => {
          const text = textOf(children);
          const optionList = collected.options ?? [];
          const shown = optionList.reduce((length, option) => length + option.text.length, text.length);
          pushElement(parent, collectedNodes(name, attribs, text, optionList), shown);
        },
      });
      return true;
    }
    return false;
  };

  const parser = new Parser(
    {
      onopentag(name, attribs) {
        const top = stack[stack.length - 1];
        const parent = top?.target ?? null;
        const control = top?.control;
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
            control,
            close: () => pushRendered(parent, entityNodes(entity, children, ctx), textOf(children).length),
          });
          return;
        }
        if (SHORTHAND_TAGS.has(name)) {
          const children: SafeNode[] = [];
          stack.push({
            target: children,
            control,
            close: () => pushRendered(parent, shorthandNodes(name, attribs, children, ctx), textOf(children).length),
          });
          return;
        }
        if (openElement(name, attribs, parent, control)) return;
        if (control) {
          // Markup inside a form control is written as its text.
          stack.push({ target: parent, control });
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
