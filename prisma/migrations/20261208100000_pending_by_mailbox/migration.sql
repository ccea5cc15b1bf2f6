-- The import claims the oldest waiting items of the busiest mailboxes first (see claimItems): each
-- needs its own Graph budget from the start of the run. This index finds them without reading the
-- mailbox's imported items, and counts each mailbox's waiting items for the same choice.
CREATE INDEX "ImportItem_pending_mailbox_idx" ON "ImportItem"("connectorId", "mailbox", "id") WHERE "status" = 'PENDING';
