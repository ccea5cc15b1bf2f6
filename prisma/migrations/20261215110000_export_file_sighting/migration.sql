-- When a listing first showed a Content Export file that has no upload time: a file still without
-- its size or hash 2 hours after that is read without them instead of waited for without end.
CREATE TABLE "ExportFileSighting" (
    "connectorId" UUID NOT NULL,
    "sourceId" TEXT NOT NULL,
    "firstListedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ExportFileSighting_pkey" PRIMARY KEY ("connectorId","sourceId")
);

ALTER TABLE "ExportFileSighting" ADD CONSTRAINT "ExportFileSighting_connectorId_fkey" FOREIGN KEY ("connectorId") REFERENCES "Connector"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- How many bytes the staged copy holds: a copy is not reused once the source lists another size.
ALTER TABLE "ExportFile" ADD COLUMN "receivedBytes" BIGINT;
