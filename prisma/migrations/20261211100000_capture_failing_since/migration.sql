-- When real-time capture's current series of errors began (null while it reads): its own, so that a
-- failing capture and a failing scheduled run of one connector never end or extend each other's series.
ALTER TABLE "CaptureLease" ADD COLUMN "failingSince" TIMESTAMP(3);
