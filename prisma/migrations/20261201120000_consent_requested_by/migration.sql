-- The admin (Entra object id) who started the pending consent request: the callback must come back in
-- that admin's session, so a captured state cannot be completed by anyone else.
ALTER TABLE "Connector" ADD COLUMN "consentRequestedBy" TEXT;
