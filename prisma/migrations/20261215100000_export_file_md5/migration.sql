-- The MD5 of a file's staged copy, beside its SHA-256: a copy is reused only while every hash the
-- source publishes for the file is that copy's.
ALTER TABLE "ExportFile" ADD COLUMN "md5" TEXT;
