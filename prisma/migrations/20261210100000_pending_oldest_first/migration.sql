-- The claim walks a connector's PENDING items oldest first. In id order, the primary key has that
-- order too, and while the statistics said most of the ledger was pending (a backfill's first minutes,
-- until the next ANALYZE) the planner walked the primary key instead of this index: past every item
-- already imported, 28,000-82,000 rows and up to 48 ms a claim in a 200,000-message bench run, more
-- with every item imported. In ("createdAt", id) order only this index has the claim's order, so the
-- walk reads pending items only, whatever the statistics say.
DROP INDEX "ImportItem_pending_idx";
CREATE INDEX "ImportItem_pending_idx" ON "ImportItem"("connectorId", "createdAt", "id") WHERE "status" = 'PENDING';
