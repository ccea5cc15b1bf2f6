-- The event types of the feed a stored ackId belongs to. The default, for the rows there are and for
-- rows a worker of an earlier version writes, is what capture asked for before SHAREDPOST, so that
-- their feed is drained before the new one is read.
ALTER TABLE "CaptureLease" ADD COLUMN "feedTypes" TEXT NOT NULL DEFAULT 'MESSAGESENT,MESSAGESUPPRESSED,USERJOINEDROOM,USERLEFTROOM';
