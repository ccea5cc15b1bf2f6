-- Applying an edit now takes the capture lease back in the same transaction (lib/jobs/capture.ts
-- releaseCaptureForNewSettings): the version a running capture compared is no longer needed.
ALTER TABLE "Connector" DROP COLUMN "settingsVersion";
