-- The event types of the feed a stored ackId belongs to. Leases written before this change read the
-- types the capture asked for until then, so that their feed is drained before the new one is read.
ALTER TABLE "CaptureLease" ADD COLUMN "feedTypes" TEXT NOT NULL DEFAULT 'MESSAGESENT,MESSAGESUPPRESSED,USERJOINEDROOM,USERLEFTROOM';
ALTER TABLE "CaptureLease" ALTER COLUMN "feedTypes" SET DEFAULT '';
