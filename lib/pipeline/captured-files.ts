// Real time beside Content Export: the capture imports a message with its files (downloaded as the
// content-export service user); the export carries the same files again as file-transfer records of
// their own, without a message id. Such a record is matched to the captured message by conversation,
// sender, second and file name, and recorded as "imported attached to that message" instead of being
// imported again. A record that matches nothing is imported as before: a file twice is better than none.
import { db } from "@/lib/db";
import type { ExportChatItem, ExportItem } from "@/lib/content-export";
import { storable, storableKey } from "./ledger";

/** A file-transfer record: no message id, no text, one file. */
function isFileTransfer(item: ExportItem): item is ExportChatItem {
  return item.kind === "chat" && item.messageId === undefined && item.content === "" && item.attachments.length === 1;
}

const second = (date: Date) => Math.floor(date.getTime() / 1000);

/**
 * For each file-transfer record of the batch whose file the real-time capture already imported, the key
 * of the captured message it came with. Each captured file stands for one record of a file.
 */
export async function capturedFileMatches(connectorId: string, items: ExportItem[]): Promise<Map<ExportItem, string>> {
  const transfers = items.filter(isFileTransfer);
  const matches = new Map<ExportItem, string>();
  if (transfers.length === 0) return matches;
  const times = transfers.map((item) => item.sentAt.getTime());
  const captured = await db.sourceMessage.findMany({
    where: {
      connectorId,
      exportFileId: null,
      attachedTo: null,
      attachmentNames: { isEmpty: false },
      // Its files reach a mailbox with it: a captured message that failed (or reached no one) brings none.
      items: { some: { status: { in: ["PENDING", "IMPORTED"] } } },
      streamId: { in: [...new Set(transfers.map((item) => storableKey(item.conversationId)))] },
      // Export times may be whole seconds: the captured message can be up to a second later.
      sentAt: { gte: new Date(Math.floor(Math.min(...times) / 1000) * 1000), lt: new Date(Math.max(...times) + 1000) },
    },
    select: { messageId: true, streamId: true, sentAt: true, senderEmail: true, attachmentNames: true },
  });
  const free = captured.map((message) => ({ ...message, left: [...message.attachmentNames] }));
  for (const item of transfers) {
    // As the ledger keeps them (collect.ts): compared to what it stored, not to what was sent.
    const email = item.sender.email === undefined ? undefined : storable(item.sender.email.toLowerCase());
    const name = storable(item.attachments[0]!.name);
    const streamId = storableKey(item.conversationId);
    const message = free.find(
      (candidate) =>
        candidate.streamId === streamId &&
        second(candidate.sentAt) === second(item.sentAt) &&
        email !== undefined &&
        candidate.senderEmail === email &&
        candidate.left.includes(name),
    );
    if (!message) continue;
    message.left.splice(message.left.indexOf(name), 1);
    matches.set(item, message.messageId);
  }
  return matches;
}
