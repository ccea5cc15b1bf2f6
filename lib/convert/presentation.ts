import { parseEntities } from "./entities";
import {
  ContentLimitError,
  exceedsUtf8Bytes,
  formatBytes,
  MAX_HTML_BYTES,
  MAX_INPUT_BYTES,
  MAX_TEXT_BYTES,
  ORIGINAL_DATA_FILE,
  ORIGINAL_MESSAGE_FILE,
} from "./limits";
import { escapeHtml, noticeHtml, renderHtml } from "./render-html";
import { renderText } from "./render-text";
import { sanitizePresentationML } from "./sanitize";
import type { OriginalContent, Person } from "./types";
import { errorMessage } from "@/lib/errors";

export interface MessageBody {
  html: string;
  text: string;
  /**
   * Set when the content was not rendered (too large, too complex, or the converter failed on it):
   * html and text are then a short notice, and the email must carry the original content as
   * attachments (buildEmail does).
   */
  notRendered?: string;
}

function peopleIndex(people: Person[]): Map<string, Person> {
  const index = new Map<string, Person>();
  for (const person of people) {
    index.set(person.userId, person);
    if (person.email) index.set(person.email.toLowerCase(), person);
  }
  return index;
}

/** Content attached as Symphony sent it, byte for byte, because it is not rendered. */
export function originalContent(id: string, name: string, contentType: string, content: string): OriginalContent {
  return { ref: { id, name, size: Buffer.byteLength(content, "utf8"), contentType }, content };
}

/** The short body of a message whose content is attached instead of rendered. */
export function notRenderedBody(reason: string, hasData: boolean): MessageBody {
  const files = hasData ? `${ORIGINAL_MESSAGE_FILE} (and its data as ${ORIGINAL_DATA_FILE})` : ORIGINAL_MESSAGE_FILE;
  const text = `This Symphony message is not shown here: ${reason}. Its full original content is attached as ${files}.`;
  return { html: noticeHtml(text), text, notRendered: reason };
}

/** Tags a Content Export record's Content may start with when it is markup (PresentationML, HTML-ish text). */
const MARKUP_START =
  /^\s*<(div|messageml|p|span|b|i|u|em|strong|a|br|hr|ul|ol|li|table|h[1-6]|pre|code|img|card|blockquote|mention|hash|cash|emoji)\b[^<>]*>/i;

/**
 * Whether a Content Export record's Content is markup. Symphony's spec says it is "text or HTML-ish
 * markup": only Content that opens with a tag is; plain text (even "<bid then sell" or "<3") is not,
 * so that it is never read as markup and lost.
 */
export function isMarkup(content: string): boolean {
  return MARKUP_START.test(content);
}

/** Plain text as PresentationML that renders it as written, line breaks kept. */
export function textAsPresentationML(text: string): string {
  return `<div data-format="PresentationML" data-version="2.0">${escapeHtml(text).replace(/\r\n?|\n/g, "<br/>")}</div>`;
}

/** Why `presentationML` and `data` are not parsed at all, or undefined when they are within the limits. */
export function inputTooLarge(presentationML: string, data: string | undefined): string | undefined {
  for (const [what, value] of [
    ["content", presentationML],
    ["data", data ?? ""],
  ] as const) {
    if (exceedsUtf8Bytes(value, MAX_INPUT_BYTES)) {
      return `its ${what} is ${formatBytes(Buffer.byteLength(value, "utf8"))}, more than the ${formatBytes(MAX_INPUT_BYTES)} the archive renders`;
    }
  }
  return undefined;
}

/**
 * PresentationML (plus Symphony's `data` entities) -> safe HTML and readable text, within the limits
 * of ./limits: content that exceeds them (or that the converter fails on) gives a short notice with
 * `notRendered` set instead. Never throws.
 */
export function renderPresentationML(presentationML: string, data: string | undefined, people: Person[]): MessageBody {
  const hasData = Boolean(data);
  const tooLarge = inputTooLarge(presentationML, data);
  if (tooLarge) return notRenderedBody(tooLarge, hasData);
  try {
    const nodes = sanitizePresentationML(presentationML, {
      entities: parseEntities(data),
      people: peopleIndex(people),
    });
    const html = renderHtml(nodes);
    if (exceedsUtf8Bytes(html, MAX_HTML_BYTES)) {
      return notRenderedBody(`its HTML rendering is larger than ${formatBytes(MAX_HTML_BYTES)}`, hasData);
    }
    const text = renderText(nodes);
    if (exceedsUtf8Bytes(text, MAX_TEXT_BYTES)) {
      return notRenderedBody(`its plain-text rendering is larger than ${formatBytes(MAX_TEXT_BYTES)}`, hasData);
    }
    return { html, text };
  } catch (error) {
    if (error instanceof ContentLimitError) return notRenderedBody(error.message, hasData);
    return notRenderedBody(`the converter failed on it (${errorMessage(error)})`, hasData);
  }
}
