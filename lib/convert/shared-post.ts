// The post a message shares (Symphony's `sharedMessage`), below the message's own content: under a
// heading that names its author and time, in a quote, its files named. When it cannot be shown, the
// heading says why and its original content is attached whole, as a message's is.
import {
  exceedsUtf8Bytes,
  formatBytes,
  MAX_HTML_BYTES,
  MAX_TEXT_BYTES,
  ORIGINAL_SHARED_DATA_FILE,
  ORIGINAL_SHARED_DATA_ID,
  ORIGINAL_SHARED_FILE,
  ORIGINAL_SHARED_ID,
} from "./limits";
import { visibleFileName } from "./names";
import { originalContent, renderPresentationML, type MessageBody } from "./presentation";
import { escapeHtml, noticeHtml } from "./render-html";
import type { OriginalContent, Person, SharedPost } from "./types";

/** The shared post's PresentationML (and `data`), exactly as Symphony sent them. */
function originalsOf(shared: SharedPost): OriginalContent[] {
  const originals = [
    originalContent(ORIGINAL_SHARED_ID, ORIGINAL_SHARED_FILE, "text/plain; charset=utf-8", shared.presentationML),
  ];
  if (shared.data)
    originals.push(
      originalContent(ORIGINAL_SHARED_DATA_ID, ORIGINAL_SHARED_DATA_FILE, "application/json", shared.data),
    );
  return originals;
}

/** File names a shared post's line names at most; the rest are counted. */
const MAX_FILES_NAMED = 20;

function filesLine(shared: SharedPost): string {
  if (shared.files.length === 0) return "";
  const named = shared.files
    .slice(0, MAX_FILES_NAMED)
    .map(({ name, size }) =>
      size === undefined ? visibleFileName(name) : `${visibleFileName(name)} (${formatBytes(size)})`,
    );
  const more = shared.files.length - named.length;
  return `Files of the shared post (they belong to the original post and are not attached here): ${named.join(", ")}${more > 0 ? ` and ${more} more` : ""}.`;
}

/** The message's own text, then a blank line, unless it has none. */
const above = (text: string) => (text ? `${text}\n\n` : "");

const quoted = (text: string) =>
  text
    .split("\n")
    .map((line) => (line ? `> ${line}` : ">"))
    .join("\n");

/**
 * `body` with the shared post below it, and the originals to attach when the post is not shown. A post
 * that would take the body past the limits a message's body has is attached instead; `fits` is false
 * when even then the body is past them (the message alone is near them: the caller attaches it).
 * `heading` is visible text ("Shared post by <name>, <time>"); `notShown`, when given, says why the
 * post is not rendered (the message's whole conversion failed, or the two do not fit together).
 */
export function withSharedPost(
  body: MessageBody,
  shared: SharedPost,
  heading: string,
  people: Person[],
  notShown?: string,
): { body: MessageBody; originals: OriginalContent[]; notShown?: string; fits: boolean } {
  const files = filesLine(shared);
  let reason = notShown ?? shared.unreadable;
  if (!reason) {
    const post = renderPresentationML(shared.presentationML, shared.data, people);
    reason = post.notRendered;
    if (!reason) {
      const html = `${body.html}<div dir="auto"><p><b>${escapeHtml(heading)}</b></p><blockquote>${post.html}</blockquote>${files ? `<p>${escapeHtml(files)}</p>` : ""}</div>`;
      const text = `${above(body.text)}${heading}\n${quoted(post.text)}${files ? `\n${files}` : ""}`;
      if (withinLimits(html, text)) return { body: { ...body, html, text }, originals: [], fits: true };
      reason = `with the message it is larger than the ${formatBytes(MAX_HTML_BYTES)} an archived item shows`;
    }
  }
  const attached = shared.data
    ? `${ORIGINAL_SHARED_FILE} (and its data as ${ORIGINAL_SHARED_DATA_FILE})`
    : ORIGINAL_SHARED_FILE;
  const notice = `${heading}: not shown here: ${reason}. Its original content is attached as ${attached}.`;
  const html = `${body.html}${noticeHtml(files ? `${notice} ${files}` : notice)}`;
  const text = `${above(body.text)}${notice}${files ? `\n${files}` : ""}`;
  return {
    body: { ...body, html, text },
    originals: originalsOf(shared),
    notShown: reason,
    fits: withinLimits(html, text),
  };
}

function withinLimits(html: string, text: string): boolean {
  return !exceedsUtf8Bytes(html, MAX_HTML_BYTES) && !exceedsUtf8Bytes(text, MAX_TEXT_BYTES);
}
