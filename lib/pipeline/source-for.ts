import { Readable } from "node:stream";
import { config } from "@/lib/config";
import { db } from "@/lib/db";
import type { Connector } from "@/lib/generated/prisma/client";
import type { StagingStore } from "@/lib/staging";
import type { StreamType } from "@/lib/symphony";
import type { PipelineEnvironment } from "./environment";
import { conversationsSource } from "./conversations-source";
import { runCoverage } from "./coverage";
import { contentExportSource } from "./export-source";
import { decryptionKeyFor, exportDeliveryFor, symphonyClientFor } from "./services";
import type { ArchiveSource } from "./source";

/** The connector's source, ready to read from its checkpoints. */
export async function sourceFor(
  connector: Connector,
  run: { runId: string; staging: StagingStore; symphonyClient?: PipelineEnvironment["symphonyClient"] },
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
      realtime: connector.realtime,
      readerHeapMb: config().EXPORT_READER_HEAP_MB,
    });
  }
  // Real time only: the capture loop records messages as they come; a run just imports what is pending.
  if (connector.sourceKind === "DATAHOSE") return nothingToRead;
  const checkpoints = await db.streamCheckpoint.findMany({ where: { connectorId: connector.id } });
  return conversationsSource({
    symphony: symphonyClientFor(connector, run.symphonyClient),
    streamTypes: connector.streamTypes as StreamType[],
    startDate: connector.startDate,
    checkpoints: new Map(checkpoints.map((checkpoint) => [checkpoint.streamId, checkpoint.lastMessageAt])),
    coverage: await runCoverage(run.runId),
  });
}

const nothingToRead: ArchiveSource = {
  parallelism: 1,
  units: () => Readable.from([]),
  serviceAccount: () => Promise.resolve(null),
  close: () => Promise.resolve(),
};
