-- A MESSAGESUPPRESSED event read before its message is in the ledger: kept until the message is
-- recorded (capture applies it then), so the suppression's note is not lost.
CREATE TABLE "PendingSuppression" (
    "connectorId" UUID NOT NULL,
    "messageId" TEXT NOT NULL,
    "suppressedAt" TIMESTAMP(3) NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "PendingSuppression_pkey" PRIMARY KEY ("connectorId","messageId")
);

ALTER TABLE "PendingSuppression" ADD CONSTRAINT "PendingSuppression_connectorId_fkey" FOREIGN KEY ("connectorId") REFERENCES "Connector"("id") ON DELETE CASCADE ON UPDATE CASCADE;
