-- Moved on when an edit is applied: a real-time capture started with older settings starts again.
ALTER TABLE "Connector" ADD COLUMN "settingsVersion" INTEGER NOT NULL DEFAULT 0;
