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

function filesLine(shared: SharedPost): string {
  if (shared.files.length === 0) return "";
  const files = shared.files.map(({ name, size }) =>
    size === undefined ? visibleFileName(name) : `${visibleFileName(name)} (${formatBytes(size)})`,
  );
  return `Files of the shared post (archived with the original post, not attached here): ${files.join(", ")}.`;
}

/** The message's own text, then a blank line, unless it has none. */
const above = (text: string) => (text ? `${text}\n\n` : "");

const quoted = (text: string) =>
  text
    .split("\n")
    .map((line) => (line ? `> ${line}` : ">"))
    .join("\n");

/**
 * `body` with the shared post below it, and the originals to attach when the post is not shown. The
 * whole body stays within the limits a message's body has: a post that would pass them is attached.
 * `heading` is visible text ("Shared post by <name>, <time>"); `messageNotShown` says why the message
 * itself is not rendered (its post is then not rendered either, for the same reason).
 */
export function withSharedPost(
  body: MessageBody,
  shared: SharedPost,
  heading: string,
  people: Person[],
  messageNotShown: string | undefined,
): { body: MessageBody; originals: OriginalContent[]; notShown?: string } {
  const files = filesLine(shared);
  const post = messageNotShown
    ? { notRendered: messageNotShown }
    : renderPresentationML(shared.presentationML, shared.data, people);
  let notShown = post.notRendered;
  if (!notShown && "html" in post) {
    const html = `${body.html}<div dir="auto"><p><b>${escapeHtml(heading)}</b></p><blockquote>${post.html}</blockquote>${files ? `<p>${escapeHtml(files)}</p>` : ""}</div>`;
    const text = `${above(body.text)}${heading}\n${quoted(post.text)}${files ? `\n${files}` : ""}`;
    if (!exceedsUtf8Bytes(html, MAX_HTML_BYTES) && !exceedsUtf8Bytes(text, MAX_TEXT_BYTES))
      return { body: { ...body, html, text }, originals: [] };
    notShown = `with the message it is larger than the ${formatBytes(MAX_HTML_BYTES)} an archived item shows`;
  }
  const attached = shared.data
    ? `${ORIGINAL_SHARED_FILE} (and its data as ${ORIGINAL_SHARED_DATA_FILE})`
    : ORIGINAL_SHARED_FILE;
  const notice = `${heading}: not shown here: ${notShown}. Its original content is attached as ${attached}.`;
  return {
    body: {
      ...body,
      html: `${body.html}${noticeHtml(files ? `${notice} ${files}` : notice)}`,
      text: `${above(body.text)}${notice}${files ? `\n${files}` : ""}`,
    },
    originals: originalsOf(shared),
    notShown,
  };
}
