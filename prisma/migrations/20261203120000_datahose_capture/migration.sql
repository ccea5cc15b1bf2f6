-- Real-time capture from the Datahose: a source kind of its own, or alongside Content Export on one
-- connector, and the lease that keeps one capture loop per connector across all workers.
-- AlterEnum
ALTER TYPE "SourceKind" ADD VALUE 'DATAHOSE';

-- AlterTable
ALTER TABLE "Connector" ADD COLUMN     "realtime" BOOLEAN NOT NULL DEFAULT false;

-- CreateTable
CREATE TABLE "CaptureLease" (
    "connectorId" UUID NOT NULL,
    "holder" TEXT,
    "expiresAt" TIMESTAMP(3),
    "ackId" TEXT NOT NULL DEFAULT '',
    "newestMessageAt" TIMESTAMP(3),
    "lastReadAt" TIMESTAMP(3),
    "minuteStartedAt" TIMESTAMP(3),
    "eventsThisMinute" INTEGER NOT NULL DEFAULT 0,
    "eventsPerMinute" INTEGER NOT NULL DEFAULT 0,
    "error" TEXT,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "CaptureLease_pkey" PRIMARY KEY ("connectorId")
);

-- AddForeignKey
ALTER TABLE "CaptureLease" ADD CONSTRAINT "CaptureLease_connectorId_fkey" FOREIGN KEY ("connectorId") REFERENCES "Connector"("id") ON DELETE CASCADE ON UPDATE CASCADE;
