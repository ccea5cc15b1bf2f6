import type { Readable } from "node:stream";
import { readStagedMime, toGraphMessage, type StagedMessage } from "@/lib/convert";
import type { ImportItem } from "@/lib/m365";

/** The idempotency key stored on every created Graph message: one per (connector, Symphony message). */
export function itemKey(connectorId: string, messageId: string): string {
  return `${connectorId}:${messageId}`;
}

/**
 * Rebuilds what lib/m365 imports from the staged MIME: the Graph JSON message and the attachments,
 * each reopened from the blob whenever the writer asks (an upload that starts over reads it again).
 */
export async function stagedImportItem(key: string, open: () => Promise<Readable>): Promise<ImportItem> {
  const staged = await readStagedMime(open);
  return {
    key,
    graph: { ...toGraphMessage(staged.email) },
    attachments: staged.email.attachments.map((ref, index) => ({
      name: ref.name,
      contentType: ref.contentType ?? "application/octet-stream",
      size: ref.size,
      isInline: false,
      open: () => openAttachment(staged, index),
    })),
  };
}

/** The content of the index-th attachment; the parse is closed once that content has been read. */
async function openAttachment(staged: StagedMessage, index: number): Promise<Readable> {
  const parts = staged.attachments();
  for (let i = 0; ; i++) {
    const next = await parts.next();
    if (next.done) throw new Error(`the staged message has no attachment number ${index + 1}`);
    if (i < index) {
      for await (const _ of next.value.content);
      continue;
    }
    const { content } = next.value;
    content.once("close", () => void parts.return(undefined));
    return content;
  }
}
