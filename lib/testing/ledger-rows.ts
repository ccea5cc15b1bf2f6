import { db } from "@/lib/db";

/** A collected message with one ledger row (for a@bank.example), written straight into the database. */
export function ledgerMessage(
  connectorId: string,
  row: {
    messageId: string;
    blobName: string;
    blobOffset?: number;
    sizeBytes?: number;
    status: "PENDING" | "IMPORTED" | "SKIPPED" | "FAILED";
  },
) {
  return db.sourceMessage.create({
    data: {
      connectorId,
      messageId: row.messageId,
      streamId: "s",
      streamType: "IM",
      sentAt: new Date(),
      senderUserId: "1",
      participants: [],
      blobName: row.blobName,
      blobOffset: row.blobOffset,
      sizeBytes: row.sizeBytes ?? 10,
      items: {
        create: [
          {
            connectorId,
            mailbox: "a@bank.example",
            status: row.status,
            ...(row.status === "IMPORTED" ? { importedAt: new Date() } : {}),
          },
        ],
      },
    },
  });
}
