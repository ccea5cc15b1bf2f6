-- Indexes Prisma's schema language cannot express; lib/testing/schema-drift.ts lists them.

-- The import claim query reads only PENDING items of a connector in id order; without this index
-- its cost grows with every item already imported.
CREATE INDEX "ImportItem_pending_idx" ON "ImportItem"("connectorId", "id") WHERE "status" = 'PENDING';

-- Connector names are unique whatever their case.
CREATE UNIQUE INDEX "Connector_name_lower_key" ON "Connector"(lower("name"));
