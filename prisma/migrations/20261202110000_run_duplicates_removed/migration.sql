-- Second copies of a message deleted after a retried create (a create that timed out but landed), counted per run.
ALTER TABLE "ImportRun" ADD COLUMN "duplicatesRemoved" INTEGER NOT NULL DEFAULT 0;
