/**
 * Bounds of what the converter renders. A chat message is a few KB; anything above these limits is
 * not rendered at all: the email then carries a short notice and the original content, byte for
 * byte, as attachments (see `originalAttachments`), so nothing is lost and no message can take more
 * memory or time than these bounds allow.
 */

const MB = 1024 * 1024;

/** PresentationML (and, separately, the `data` JSON) larger than this is attached instead of parsed. */
export const MAX_INPUT_BYTES = 1 * MB;
/** Largest HTML body (UTF-8), well inside Graph's 4 MB request with room for small attachments. */
export const MAX_HTML_BYTES = 1 * MB;
/** Largest plain-text body (UTF-8). */
export const MAX_TEXT_BYTES = 1 * MB;
/**
 * Characters the text renderer may produce in all, intermediate strings of nested lists, tables and
 * quotes included: bounds its time and memory whatever the nesting.
 */
export const MAX_TEXT_WORK_CHARS = 8 * MB;
/** Elements the sanitizer keeps before it gives up on rendering (a long chat message has hundreds). */
export const MAX_ELEMENTS = 100_000;
/** Text table columns are aligned up to this width; longer cells are not padded, never truncated. */
export const MAX_COLUMN_WIDTH = 40;

/** File names of the original content attached when a message is not rendered. */
export const ORIGINAL_MESSAGE_FILE = "symphony-message.txt";
export const ORIGINAL_DATA_FILE = "symphony-message-data.json";
/** Attachment ids of those files (X-Symphony-Attachment-Id); Symphony's own ids are base64. */
export const ORIGINAL_MESSAGE_ID = "original-message";
export const ORIGINAL_DATA_ID = "original-data";
/** The same for the post a message shares, when it is not rendered. */
export const ORIGINAL_SHARED_FILE = "symphony-shared-post.txt";
export const ORIGINAL_SHARED_DATA_FILE = "symphony-shared-post-data.json";
export const ORIGINAL_SHARED_ID = "original-shared-post";
export const ORIGINAL_SHARED_DATA_ID = "original-shared-post-data";

/** Thrown by the renderers when a limit above is exceeded; buildEmail then attaches the original. */
export class ContentLimitError extends Error {
  override name = "ContentLimitError";
}

/** "1.2 MB" */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < MB) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / MB).toFixed(1)} MB`;
}

/** Whether `text` takes more than `limit` bytes in UTF-8 (its length alone decides most cases). */
export function exceedsUtf8Bytes(text: string, limit: number): boolean {
  return text.length > limit || (text.length * 3 > limit && Buffer.byteLength(text, "utf8") > limit);
}
