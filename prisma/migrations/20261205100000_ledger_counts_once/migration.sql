-- The ledger's counter trigger, with its three branches (insert, update, delete) reduced to what
-- differs between them: which transition rows make the change. Each branch groups its rows by
-- connector, status and UTC day of import (a few rows however large the statement) and hands them to
-- one function that applies them to ConnectorCount and ConnectorDayCount, as the three copies did.
CREATE FUNCTION "ledger_apply_item_changes"(changes jsonb) RETURNS void LANGUAGE sql AS $$
  WITH live AS (
    SELECT change.*
    FROM jsonb_to_recordset(changes) AS change("connectorId" uuid, status text, day date, n integer)
    JOIN "Connector" ON "Connector".id = change."connectorId"
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
  SELECT "connectorId", day, sum(n) FROM live
  WHERE status = 'IMPORTED' AND day IS NOT NULL
  GROUP BY 1, 2 HAVING sum(n) <> 0
  ORDER BY 1, 2
  ON CONFLICT ("connectorId", "day") DO UPDATE SET "itemsImported" = per_day."itemsImported" + EXCLUDED."itemsImported";
$$;

CREATE OR REPLACE FUNCTION "ledger_item_counts"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    PERFORM "ledger_apply_item_changes"((
      SELECT jsonb_agg(grouped) FROM (
        SELECT "connectorId", status, "importedAt"::date AS day, count(*) AS n FROM new_rows GROUP BY 1, 2, 3
      ) AS grouped));
  ELSIF TG_OP = 'UPDATE' THEN
    -- A row counts for its new version and not for its old one: a claim (no status change) nets to nothing.
    PERFORM "ledger_apply_item_changes"((
      SELECT jsonb_agg(grouped) FROM (
        SELECT "connectorId", status, day, sum(n) AS n FROM (
          SELECT "connectorId", status, "importedAt"::date AS day, 1 AS n FROM new_rows
          UNION ALL
          SELECT "connectorId", status, "importedAt"::date AS day, -1 AS n FROM old_rows
        ) AS change GROUP BY 1, 2, 3 HAVING sum(n) <> 0
      ) AS grouped));
  ELSIF EXISTS (SELECT 1 FROM old_rows) THEN
    -- A cascade deletes items one source message at a time: most of its statements delete nothing.
    PERFORM "ledger_apply_item_changes"((
      SELECT jsonb_agg(grouped) FROM (
        SELECT "connectorId", status, "importedAt"::date AS day, -count(*) AS n FROM old_rows GROUP BY 1, 2, 3
      ) AS grouped));
  END IF;
  RETURN NULL;
END $$;
