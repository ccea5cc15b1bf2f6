-- Attempts that ended in an error, apart from attempts cut short by a stopped worker: a worker killed
-- or restarted while holding a batch of items must not use up their retries. Items already pending
-- start at 0 (a few more retries, never fewer).
ALTER TABLE "ImportItem" ADD COLUMN "failures" INTEGER NOT NULL DEFAULT 0;
