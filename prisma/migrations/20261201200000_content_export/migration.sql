-- Content Export: a connector's source kind, its delivery settings, the file ledger and which messages
-- each file carried. Connectors made before this read the service account's conversations over REST,
-- so they keep that kind; new connectors default to Content Export.
CREATE TYPE "SourceKind" AS ENUM ('CONTENT_EXPORT', 'CONVERSATIONS');
CREATE TYPE "ExportDelivery" AS ENUM ('FILES_API', 'SFTP');
CREATE TYPE "ExportFileStatus" AS ENUM ('NEW', 'DOWNLOADED', 'PARSED', 'DONE', 'FAILED');

ALTER TABLE "Connector"
    ADD COLUMN "sourceKind" "SourceKind" NOT NULL DEFAULT 'CONVERSATIONS',
    ADD COLUMN "exportDelivery" "ExportDelivery" NOT NULL DEFAULT 'FILES_API',
    ADD COLUMN "sftpHost" TEXT,
    ADD COLUMN "sftpPort" INTEGER NOT NULL DEFAULT 22,
    ADD COLUMN "sftpUsername" TEXT,
    ADD COLUMN "sftpFolder" TEXT,
    ADD COLUMN "sftpCredentialEncrypted" TEXT,
    ADD COLUMN "sftpHostKeySha256" TEXT,
    ADD COLUMN "sftpHostKeyConfirmedBy" TEXT,
    ADD COLUMN "pgpKeyEncrypted" TEXT,
    ADD COLUMN "pgpKeyIds" TEXT[] DEFAULT ARRAY[]::TEXT[];
ALTER TABLE "Connector" ALTER COLUMN "sourceKind" SET DEFAULT 'CONTENT_EXPORT';

CREATE TABLE "ExportFile" (
    "id" BIGSERIAL NOT NULL,
    "connectorId" UUID NOT NULL,
    "sourceId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "format" TEXT,
    "jobType" TEXT,
    "periodStart" TIMESTAMP(3),
    "periodEnd" TIMESTAMP(3),
    "generatedAt" TIMESTAMP(3),
    "uploadTime" TIMESTAMP(3),
    "sizeBytes" BIGINT,
    "expectedSha256" TEXT,
    "expectedMd5" TEXT,
    "sha256" TEXT,
    "verifiedBy" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "blobName" TEXT,
    "status" "ExportFileStatus" NOT NULL DEFAULT 'NEW',
    "conversations" INTEGER,
    "messagesInFile" INTEGER,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "reason" TEXT,
    "runId" UUID,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "ExportFile_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "ExportFile_connectorId_sourceId_key" ON "ExportFile"("connectorId", "sourceId");
CREATE INDEX "ExportFile_connectorId_status_idx" ON "ExportFile"("connectorId", "status");
CREATE INDEX "ExportFile_runId_idx" ON "ExportFile"("runId");
ALTER TABLE "ExportFile" ADD CONSTRAINT "ExportFile_connectorId_fkey" FOREIGN KEY ("connectorId") REFERENCES "Connector"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "ExportFile" ADD CONSTRAINT "ExportFile_runId_fkey" FOREIGN KEY ("runId") REFERENCES "ImportRun"("id") ON DELETE SET NULL ON UPDATE CASCADE;

CREATE TABLE "ExportFileMessage" (
    "exportFileId" BIGINT NOT NULL,
    "sourceMessageId" BIGINT NOT NULL,

    CONSTRAINT "ExportFileMessage_pkey" PRIMARY KEY ("exportFileId","sourceMessageId")
);
CREATE INDEX "ExportFileMessage_sourceMessageId_idx" ON "ExportFileMessage"("sourceMessageId");
ALTER TABLE "ExportFileMessage" ADD CONSTRAINT "ExportFileMessage_exportFileId_fkey" FOREIGN KEY ("exportFileId") REFERENCES "ExportFile"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "ExportFileMessage" ADD CONSTRAINT "ExportFileMessage_sourceMessageId_fkey" FOREIGN KEY ("sourceMessageId") REFERENCES "SourceMessage"("id") ON DELETE CASCADE ON UPDATE CASCADE;

ALTER TABLE "SourceMessage" ADD COLUMN "exportFileId" BIGINT;
ALTER TABLE "SourceMessage" ADD CONSTRAINT "SourceMessage_exportFileId_fkey" FOREIGN KEY ("exportFileId") REFERENCES "ExportFile"("id") ON DELETE SET NULL ON UPDATE CASCADE;
