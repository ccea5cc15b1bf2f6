-- Real time beside Content Export: a captured message keeps the names of the files it was imported
-- with, an export file-transfer record whose file came that way names the message it came with, and a
-- message keeps what its items must say whatever their attempts (suppressed; imported without files).
-- AlterTable
ALTER TABLE "SourceMessage" ADD COLUMN     "attachedTo" TEXT,
ADD COLUMN     "attachmentNames" TEXT[] DEFAULT ARRAY[]::TEXT[],
ADD COLUMN     "note" TEXT;

-- Message ids read from export files take the URL-safe base64 form the APIs and the Datahose use (one
-- message, one key, whichever source brings it); rows recorded before in the standard form follow.
UPDATE "SourceMessage" AS m SET "messageId" = translate(rtrim(m."messageId", '='), '+/', '-_')
WHERE m."exportFileId" IS NOT NULL AND m."streamType" <> 'EML' AND m."messageId" NOT LIKE 'ce-%'
  AND m."messageId" ~ '[+/=]'
  AND NOT EXISTS (SELECT 1 FROM "SourceMessage" AS o
                  WHERE o."connectorId" = m."connectorId"
                    AND o."messageId" = translate(rtrim(m."messageId", '='), '+/', '-_'));
