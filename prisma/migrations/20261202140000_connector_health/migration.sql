-- Connector health as the worker last learned it, and when a run stopped by an error is tried again.
-- CreateEnum
CREATE TYPE "ConnectorHealth" AS ENUM ('HEALTHY', 'DEGRADED', 'NEEDS_ATTENTION');

-- AlterTable
ALTER TABLE "Connector" ADD COLUMN     "failingSince" TIMESTAMP(3),
ADD COLUMN     "health" "ConnectorHealth" NOT NULL DEFAULT 'HEALTHY',
ADD COLUMN     "healthReason" TEXT,
ADD COLUMN     "healthSince" TIMESTAMP(3);

-- AlterTable
ALTER TABLE "ImportRun" ADD COLUMN     "nextAttemptAt" TIMESTAMP(3);
