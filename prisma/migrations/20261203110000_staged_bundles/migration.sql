-- Staged bundles: a collected page's messages share one blob; each row says where its MIME (and the
-- Graph model after it) sits. Existing rows keep NULLs: their blob is the whole message.
ALTER TABLE "SourceMessage" ADD COLUMN "blobOffset" BIGINT,
ADD COLUMN "modelBytes" INTEGER;
