import { db } from "@/lib/db";
import type { Connector } from "@/lib/generated/prisma/client";
import type { StagingStore } from "@/lib/staging";
import type { StreamType } from "@/lib/symphony";
import { conversationsSource } from "./conversations-source";
import { runCoverage } from "./coverage";
import { contentExportSource } from "./export-source";
import { decryptionKeyFor, exportDeliveryFor, symphonyClientFor } from "./services";
import type { ArchiveSource } from "./source";

/** The connector's source, ready to read from its checkpoints. */
export async function sourceFor(
  connector: Connector,
  run: { runId: string; staging: StagingStore },
): Promise<ArchiveSource> {
  if (connector.sourceKind === "CONTENT_EXPORT") {
    return contentExportSource({
      connectorId: connector.id,
      runId: run.runId,
      delivery: exportDeliveryFor(connector),
      staging: run.staging,
      decryptionKey: () => decryptionKeyFor(connector),
      startDate: connector.startDate,
      serviceAccount: connector.botUsername ? { userId: connector.botUsername } : null,
    });
  }
  const checkpoints = await db.streamCheckpoint.findMany({ where: { connectorId: connector.id } });
  return conversationsSource({
    symphony: symphonyClientFor(connector),
    streamTypes: connector.streamTypes as StreamType[],
    startDate: connector.startDate,
    checkpoints: new Map(checkpoints.map((checkpoint) => [checkpoint.streamId, checkpoint.lastMessageAt])),
    coverage: await runCoverage(run.runId),
  });
}
