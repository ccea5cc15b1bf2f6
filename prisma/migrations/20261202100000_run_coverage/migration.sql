-- The coverage list of a run of the conversations source: streams read, streams Symphony refused
-- (with the reason) and how many were skipped; JSON described by lib/pipeline/coverage.ts.
ALTER TABLE "ImportRun" ADD COLUMN "coverage" JSONB;
