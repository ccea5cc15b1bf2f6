-- An active connector's Source and Mapping steps saved in Edit wait here until Finish applies them:
-- until then its runs keep the settings in use.
ALTER TABLE "Connector" ADD COLUMN "pendingEdit" JSONB;

CREATE TABLE "PendingUserMapping" (
    "id" BIGSERIAL NOT NULL,
    "connectorId" UUID NOT NULL,
    "symphonyKey" TEXT NOT NULL,
    "mailbox" TEXT NOT NULL,

    CONSTRAINT "PendingUserMapping_pkey" PRIMARY KEY ("id")
);

CREATE UNIQUE INDEX "PendingUserMapping_connectorId_symphonyKey_key" ON "PendingUserMapping"("connectorId", "symphonyKey");

ALTER TABLE "PendingUserMapping" ADD CONSTRAINT "PendingUserMapping_connectorId_fkey" FOREIGN KEY ("connectorId") REFERENCES "Connector"("id") ON DELETE CASCADE ON UPDATE CASCADE;
