-- A claim (and its renewal) changes no indexed column of ImportItem once "updatedAt" is in no index,
-- so PostgreSQL can write it as a heap-only (HOT) update: no new entry in any of the ledger's indexes,
-- where a claim used to add one to all eight. Nothing reads the ledger by "updatedAt" since the
-- dashboard's counters (20261203100000_ledger_counters). The free fifth of each page is the room a HOT
-- update needs: the new row version must fit on the page of the old one.
DROP INDEX "ImportItem_connectorId_updatedAt_idx";
ALTER TABLE "ImportItem" SET (fillfactor = 80);
