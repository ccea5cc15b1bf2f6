-- CreateEnum
CREATE TYPE "ConnectorStatus" AS ENUM ('DRAFT', 'ACTIVE', 'PAUSED', 'ERROR');

-- CreateEnum
CREATE TYPE "MappingMode" AS ENUM ('AUTO', 'CSV');

-- CreateEnum
CREATE TYPE "RunTrigger" AS ENUM ('SCHEDULE', 'MANUAL', 'CONTINUOUS');

-- CreateEnum
CREATE TYPE "RunStatus" AS ENUM ('QUEUED', 'RUNNING', 'SUCCEEDED', 'PARTIAL', 'FAILED');

-- CreateEnum
CREATE TYPE "ItemStatus" AS ENUM ('PENDING', 'IMPORTED', 'SKIPPED', 'FAILED');

-- CreateTable
CREATE TABLE "Connector" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "status" "ConnectorStatus" NOT NULL DEFAULT 'DRAFT',
    "wizardStep" INTEGER NOT NULL DEFAULT 0,
    "createdBy" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,
    "termsAcceptedBy" TEXT,
    "termsAcceptedAt" TIMESTAMP(3),
    "podUrl" TEXT,
    "agentUrl" TEXT,
    "keyManagerUrl" TEXT,
    "botUsername" TEXT,
    "privateKeyEncrypted" TEXT,
    "streamTypes" TEXT[] DEFAULT ARRAY['IM', 'MIM', 'ROOM', 'POST']::TEXT[],
    "startDate" TIMESTAMP(3),
    "mappingMode" "MappingMode" NOT NULL DEFAULT 'AUTO',
    "fallbackMailbox" TEXT,
    "tenantId" TEXT,
    "consentGrantedBy" TEXT,
    "consentGrantedAt" TIMESTAMP(3),
    "consentState" TEXT,
    "scheduleIntervalMinutes" INTEGER NOT NULL DEFAULT 1440,
    "lastRunAt" TIMESTAMP(3),
    "nextRunAt" TIMESTAMP(3),

    CONSTRAINT "Connector_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "UserMapping" (
    "id" BIGSERIAL NOT NULL,
    "connectorId" UUID NOT NULL,
    "symphonyKey" TEXT NOT NULL,
    "mailbox" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "UserMapping_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "StreamCheckpoint" (
    "connectorId" UUID NOT NULL,
    "streamId" TEXT NOT NULL,
    "lastMessageAt" TIMESTAMP(3) NOT NULL,
    "lastMessageId" TEXT NOT NULL,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "StreamCheckpoint_pkey" PRIMARY KEY ("connectorId","streamId")
);

-- CreateTable
CREATE TABLE "ImportRun" (
    "id" UUID NOT NULL,
    "connectorId" UUID NOT NULL,
    "trigger" "RunTrigger" NOT NULL,
    "status" "RunStatus" NOT NULL DEFAULT 'QUEUED',
    "requestedBy" TEXT,
    "startedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finishedAt" TIMESTAMP(3),
    "messagesCollected" INTEGER NOT NULL DEFAULT 0,
    "itemsImported" INTEGER NOT NULL DEFAULT 0,
    "itemsSkipped" INTEGER NOT NULL DEFAULT 0,
    "itemsFailed" INTEGER NOT NULL DEFAULT 0,
    "bytesImported" BIGINT NOT NULL DEFAULT 0,
    "error" TEXT,

    CONSTRAINT "ImportRun_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "SourceMessage" (
    "id" BIGSERIAL NOT NULL,
    "connectorId" UUID NOT NULL,
    "messageId" TEXT NOT NULL,
    "streamId" TEXT NOT NULL,
    "streamType" TEXT NOT NULL,
    "sentAt" TIMESTAMP(3) NOT NULL,
    "senderUserId" TEXT NOT NULL,
    "senderEmail" TEXT,
    "senderName" TEXT,
    "participants" TEXT[],
    "blobName" TEXT NOT NULL,
    "sizeBytes" BIGINT NOT NULL,
    "runId" UUID,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "SourceMessage_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ImportItem" (
    "id" BIGSERIAL NOT NULL,
    "connectorId" UUID NOT NULL,
    "sourceMessageId" BIGINT NOT NULL,
    "mailbox" TEXT NOT NULL,
    "status" "ItemStatus" NOT NULL DEFAULT 'PENDING',
    "reason" TEXT,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "graphMessageId" TEXT,
    "runId" UUID,
    "claimedBy" TEXT,
    "claimedUntil" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,
    "importedAt" TIMESTAMP(3),

    CONSTRAINT "ImportItem_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "AuditEvent" (
    "id" BIGSERIAL NOT NULL,
    "connectorId" UUID,
    "actor" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "detail" JSONB,
    "at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "AuditEvent_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "Connector_name_key" ON "Connector"("name");

-- CreateIndex
CREATE INDEX "Connector_status_nextRunAt_idx" ON "Connector"("status", "nextRunAt");

-- CreateIndex
CREATE UNIQUE INDEX "UserMapping_connectorId_symphonyKey_key" ON "UserMapping"("connectorId", "symphonyKey");

-- CreateIndex
CREATE INDEX "ImportRun_connectorId_startedAt_idx" ON "ImportRun"("connectorId", "startedAt" DESC);

-- CreateIndex
CREATE UNIQUE INDEX "SourceMessage_connectorId_messageId_key" ON "SourceMessage"("connectorId", "messageId");

-- CreateIndex
CREATE INDEX "SourceMessage_connectorId_sentAt_idx" ON "SourceMessage"("connectorId", "sentAt");

-- CreateIndex
CREATE UNIQUE INDEX "ImportItem_connectorId_sourceMessageId_mailbox_key" ON "ImportItem"("connectorId", "sourceMessageId", "mailbox");

-- CreateIndex
CREATE INDEX "ImportItem_connectorId_status_mailbox_idx" ON "ImportItem"("connectorId", "status", "mailbox");

-- CreateIndex
CREATE INDEX "ImportItem_connectorId_updatedAt_idx" ON "ImportItem"("connectorId", "updatedAt");

-- CreateIndex
CREATE INDEX "ImportItem_runId_status_idx" ON "ImportItem"("runId", "status");

-- CreateIndex
CREATE INDEX "AuditEvent_connectorId_at_idx" ON "AuditEvent"("connectorId", "at" DESC);

-- AddForeignKey
ALTER TABLE "UserMapping" ADD CONSTRAINT "UserMapping_connectorId_fkey" FOREIGN KEY ("connectorId") REFERENCES "Connector"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "StreamCheckpoint" ADD CONSTRAINT "StreamCheckpoint_connectorId_fkey" FOREIGN KEY ("connectorId") REFERENCES "Connector"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ImportRun" ADD CONSTRAINT "ImportRun_connectorId_fkey" FOREIGN KEY ("connectorId") REFERENCES "Connector"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "SourceMessage" ADD CONSTRAINT "SourceMessage_connectorId_fkey" FOREIGN KEY ("connectorId") REFERENCES "Connector"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "SourceMessage" ADD CONSTRAINT "SourceMessage_runId_fkey" FOREIGN KEY ("runId") REFERENCES "ImportRun"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ImportItem" ADD CONSTRAINT "ImportItem_connectorId_fkey" FOREIGN KEY ("connectorId") REFERENCES "Connector"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ImportItem" ADD CONSTRAINT "ImportItem_sourceMessageId_fkey" FOREIGN KEY ("sourceMessageId") REFERENCES "SourceMessage"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ImportItem" ADD CONSTRAINT "ImportItem_runId_fkey" FOREIGN KEY ("runId") REFERENCES "ImportRun"("id") ON DELETE SET NULL ON UPDATE CASCADE;
