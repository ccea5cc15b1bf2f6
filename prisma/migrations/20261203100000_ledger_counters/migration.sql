-- Running totals of the ledger, so that the dashboard and the flyout read a few rows instead of counting
-- millions. Triggers keep them in the same transaction as every write of SourceMessage and ImportItem,
-- whoever makes it (the pipeline, a cascade, an operator's SQL): they always equal a count of the ledger.

-- CreateTable
CREATE TABLE "ConnectorCount" (
    "connectorId" UUID NOT NULL,
    "messagesCollected" BIGINT NOT NULL DEFAULT 0,
    "itemsPending" BIGINT NOT NULL DEFAULT 0,
    "itemsImported" BIGINT NOT NULL DEFAULT 0,
    "itemsSkipped" BIGINT NOT NULL DEFAULT 0,
    "itemsFailed" BIGINT NOT NULL DEFAULT 0,

    CONSTRAINT "ConnectorCount_pkey" PRIMARY KEY ("connectorId")
);

-- CreateTable
CREATE TABLE "ConnectorDayCount" (
    "connectorId" UUID NOT NULL,
    "day" DATE NOT NULL,
    "itemsImported" BIGINT NOT NULL DEFAULT 0,

    CONSTRAINT "ConnectorDayCount_pkey" PRIMARY KEY ("connectorId","day")
);

-- CreateIndex
CREATE INDEX "ImportItem_connectorId_id_idx" ON "ImportItem"("connectorId", "id");

-- AddForeignKey
ALTER TABLE "ConnectorCount" ADD CONSTRAINT "ConnectorCount_connectorId_fkey" FOREIGN KEY ("connectorId") REFERENCES "Connector"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ConnectorDayCount" ADD CONSTRAINT "ConnectorDayCount_connectorId_fkey" FOREIGN KEY ("connectorId") REFERENCES "Connector"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- The counting triggers. Statement-level, with transition tables: one aggregate per statement (a page of
-- items inserted, a batch of outcomes written), whatever its size. A row's contribution is added for
-- its new version and taken away for its old one, so an UPDATE that changes no status (a claim) nets
-- to nothing and writes nothing, and INSERT ... ON CONFLICT DO NOTHING counts only the rows it inserted.
-- The day of an imported item is the UTC day of its importedAt (an IMPORTED row without one has no day).
-- Counts of a connector being deleted are left alone (the join on "Connector" drops them): its counter
-- rows go with it.
CREATE FUNCTION "ledger_item_counts"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    WITH change AS (
      SELECT "connectorId", status, "importedAt", 1 AS n FROM new_rows
    ), live AS (
      SELECT change.* FROM change JOIN "Connector" ON "Connector".id = change."connectorId"
    ), totals AS (
      INSERT INTO "ConnectorCount" AS total ("connectorId", "itemsPending", "itemsImported", "itemsSkipped", "itemsFailed")
      SELECT * FROM (
        SELECT "connectorId",
               coalesce(sum(n) FILTER (WHERE status = 'PENDING'), 0) AS pending,
               coalesce(sum(n) FILTER (WHERE status = 'IMPORTED'), 0) AS imported,
               coalesce(sum(n) FILTER (WHERE status = 'SKIPPED'), 0) AS skipped,
               coalesce(sum(n) FILTER (WHERE status = 'FAILED'), 0) AS failed
        FROM live GROUP BY "connectorId"
      ) AS delta
      WHERE (pending, imported, skipped, failed) <> (0, 0, 0, 0)
      ORDER BY "connectorId"
      ON CONFLICT ("connectorId") DO UPDATE SET
        "itemsPending" = total."itemsPending" + EXCLUDED."itemsPending",
        "itemsImported" = total."itemsImported" + EXCLUDED."itemsImported",
        "itemsSkipped" = total."itemsSkipped" + EXCLUDED."itemsSkipped",
        "itemsFailed" = total."itemsFailed" + EXCLUDED."itemsFailed"
    )
    INSERT INTO "ConnectorDayCount" AS per_day ("connectorId", "day", "itemsImported")
    SELECT "connectorId", "importedAt"::date, sum(n) FROM live
    WHERE status = 'IMPORTED' AND "importedAt" IS NOT NULL
    GROUP BY 1, 2 HAVING sum(n) <> 0
    ORDER BY 1, 2
    ON CONFLICT ("connectorId", "day") DO UPDATE SET "itemsImported" = per_day."itemsImported" + EXCLUDED."itemsImported";
  ELSIF TG_OP = 'UPDATE' THEN
    WITH change AS (
      SELECT "connectorId", status, "importedAt", 1 AS n FROM new_rows
      UNION ALL
      SELECT "connectorId", status, "importedAt", -1 AS n FROM old_rows
    ), live AS (
      SELECT change.* FROM change JOIN "Connector" ON "Connector".id = change."connectorId"
    ), totals AS (
      INSERT INTO "ConnectorCount" AS total ("connectorId", "itemsPending", "itemsImported", "itemsSkipped", "itemsFailed")
      SELECT * FROM (
        SELECT "connectorId",
               coalesce(sum(n) FILTER (WHERE status = 'PENDING'), 0) AS pending,
               coalesce(sum(n) FILTER (WHERE status = 'IMPORTED'), 0) AS imported,
               coalesce(sum(n) FILTER (WHERE status = 'SKIPPED'), 0) AS skipped,
               coalesce(sum(n) FILTER (WHERE status = 'FAILED'), 0) AS failed
        FROM live GROUP BY "connectorId"
      ) AS delta
      WHERE (pending, imported, skipped, failed) <> (0, 0, 0, 0)
      ORDER BY "connectorId"
      ON CONFLICT ("connectorId") DO UPDATE SET
        "itemsPending" = total."itemsPending" + EXCLUDED."itemsPending",
        "itemsImported" = total."itemsImported" + EXCLUDED."itemsImported",
        "itemsSkipped" = total."itemsSkipped" + EXCLUDED."itemsSkipped",
        "itemsFailed" = total."itemsFailed" + EXCLUDED."itemsFailed"
    )
    INSERT INTO "ConnectorDayCount" AS per_day ("connectorId", "day", "itemsImported")
    SELECT "connectorId", "importedAt"::date, sum(n) FROM live
    WHERE status = 'IMPORTED' AND "importedAt" IS NOT NULL
    GROUP BY 1, 2 HAVING sum(n) <> 0
    ORDER BY 1, 2
    ON CONFLICT ("connectorId", "day") DO UPDATE SET "itemsImported" = per_day."itemsImported" + EXCLUDED."itemsImported";
  ELSIF EXISTS (SELECT 1 FROM old_rows) THEN
    -- A cascade deletes items one source message at a time: most of its statements delete nothing.
    WITH change AS (
      SELECT "connectorId", status, "importedAt", -1 AS n FROM old_rows
    ), live AS (
      SELECT change.* FROM change JOIN "Connector" ON "Connector".id = change."connectorId"
    ), totals AS (
      INSERT INTO "ConnectorCount" AS total ("connectorId", "itemsPending", "itemsImported", "itemsSkipped", "itemsFailed")
      SELECT * FROM (
        SELECT "connectorId",
               coalesce(sum(n) FILTER (WHERE status = 'PENDING'), 0) AS pending,
               coalesce(sum(n) FILTER (WHERE status = 'IMPORTED'), 0) AS imported,
               coalesce(sum(n) FILTER (WHERE status = 'SKIPPED'), 0) AS skipped,
               coalesce(sum(n) FILTER (WHERE status = 'FAILED'), 0) AS failed
        FROM live GROUP BY "connectorId"
      ) AS delta
      WHERE (pending, imported, skipped, failed) <> (0, 0, 0, 0)
      ORDER BY "connectorId"
      ON CONFLICT ("connectorId") DO UPDATE SET
        "itemsPending" = total."itemsPending" + EXCLUDED."itemsPending",
        "itemsImported" = total."itemsImported" + EXCLUDED."itemsImported",
        "itemsSkipped" = total."itemsSkipped" + EXCLUDED."itemsSkipped",
        "itemsFailed" = total."itemsFailed" + EXCLUDED."itemsFailed"
    )
    INSERT INTO "ConnectorDayCount" AS per_day ("connectorId", "day", "itemsImported")
    SELECT "connectorId", "importedAt"::date, sum(n) FROM live
    WHERE status = 'IMPORTED' AND "importedAt" IS NOT NULL
    GROUP BY 1, 2 HAVING sum(n) <> 0
    ORDER BY 1, 2
    ON CONFLICT ("connectorId", "day") DO UPDATE SET "itemsImported" = per_day."itemsImported" + EXCLUDED."itemsImported";
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER "ImportItem_counts_insert" AFTER INSERT ON "ImportItem"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "ledger_item_counts"();
CREATE TRIGGER "ImportItem_counts_update" AFTER UPDATE ON "ImportItem"
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "ledger_item_counts"();
CREATE TRIGGER "ImportItem_counts_delete" AFTER DELETE ON "ImportItem"
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "ledger_item_counts"();

CREATE FUNCTION "ledger_message_counts"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO "ConnectorCount" AS total ("connectorId", "messagesCollected")
    SELECT "connectorId", count(*) FROM new_rows JOIN "Connector" ON "Connector".id = new_rows."connectorId"
    GROUP BY 1 ORDER BY 1
    ON CONFLICT ("connectorId") DO UPDATE SET "messagesCollected" = total."messagesCollected" + EXCLUDED."messagesCollected";
  ELSE
    UPDATE "ConnectorCount" AS total SET "messagesCollected" = total."messagesCollected" - gone.n
    FROM (SELECT "connectorId", count(*) AS n FROM old_rows GROUP BY 1 ORDER BY 1) AS gone
    WHERE total."connectorId" = gone."connectorId";
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER "SourceMessage_counts_insert" AFTER INSERT ON "SourceMessage"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "ledger_message_counts"();
CREATE TRIGGER "SourceMessage_counts_delete" AFTER DELETE ON "SourceMessage"
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "ledger_message_counts"();

-- Backfill, after the triggers: creating them locked both tables against writes until this commits.
INSERT INTO "ConnectorCount" ("connectorId", "messagesCollected", "itemsPending", "itemsImported", "itemsSkipped", "itemsFailed")
SELECT c.id, coalesce(m.messages, 0), coalesce(i.pending, 0), coalesce(i.imported, 0), coalesce(i.skipped, 0), coalesce(i.failed, 0)
FROM "Connector" AS c
LEFT JOIN (SELECT "connectorId", count(*) AS messages FROM "SourceMessage" GROUP BY 1) AS m ON m."connectorId" = c.id
LEFT JOIN (
  SELECT "connectorId",
         count(*) FILTER (WHERE status = 'PENDING') AS pending,
         count(*) FILTER (WHERE status = 'IMPORTED') AS imported,
         count(*) FILTER (WHERE status = 'SKIPPED') AS skipped,
         count(*) FILTER (WHERE status = 'FAILED') AS failed
  FROM "ImportItem" GROUP BY 1
) AS i ON i."connectorId" = c.id;

INSERT INTO "ConnectorDayCount" ("connectorId", "day", "itemsImported")
SELECT "connectorId", "importedAt"::date, count(*) FROM "ImportItem"
WHERE status = 'IMPORTED' AND "importedAt" IS NOT NULL
GROUP BY 1, 2;
