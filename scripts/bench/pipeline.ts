// One full import run (collect -> convert -> stage -> ledger -> Graph) against sandboxes in the child
// process, with the figures the benchmark reports.
import { randomBytes, randomUUID } from "node:crypto";
import { db } from "@/lib/db";
import type { Connector } from "@/lib/generated/prisma/client";

/** A connector's settings a test or bench sets (an edit waiting for Finish is never one). */
type SourceFields = Omit<Connector, "pendingEdit">;
import { runImport, spoolFromConfig, type PipelineEnvironment, type RunOptions } from "@/lib/pipeline";
import { botKeyContext, encryptSecret, pgpKeyContext } from "@/lib/secrets";
import { BlobServiceClient } from "@azure/storage-blob";
import { cpuByGroup, cpuDelta, type CpuGroups } from "./cpu";
import { countBlobRequests, type BlobRequests } from "./blob-requests";
import { startRssSampler, type RssFlatness } from "./rss";
import type { M365Stats, SandboxHost, SandboxPair, SandboxPairOptions } from "./sandboxes";

export type PipelineFigures = {
  messages: number;
  itemsImported: number;
  itemsSkipped: number;
  itemsFailed: number;
  graphRequests: number;
  /** HTTP requests to Graph: fewer than graphRequests where creates share a $batch. */
  graphHttpRequests: number;
  throttled: number;
  collectMs: number;
  importMs: number;
  totalMs: number;
  peakRss: number;
  peakSandboxRss: number;
  rssFlatness: RssFlatness;
  /** Requests to blob storage during the run, by the operation type Azure bills. */
  blobRequests: BlobRequests;
  /** CPU seconds per process group during the run. */
  cpu: CpuGroups;
  /** Graph requests per second over time during the import phase (for the hot mailbox section). */
  timeline: Array<{ at: number; requests: number }>;
  /** Content Export runs: the file ledger after the run, and the items the files must produce. */
  exportFiles?: { files: number; done: number; failed: number; bytes: number; expectedItems: number };
};

export type PipelineCase = {
  sandbox: Omit<SandboxPairOptions, "caDir">;
  caDir: string;
  storageConnectionString: string;
  graphScheduler?: PipelineEnvironment["graphScheduler"];
  runOptions?: Pick<RunOptions, "parallelism" | "delivery" | "signal">;
  log?: (line: string) => void;
};

export async function benchPipeline(host: SandboxHost, options: PipelineCase): Promise<PipelineFigures> {
  const log = options.log ?? (() => {});
  const pair = await host.start({ ...options.sandbox, caDir: options.caDir });
  try {
    log(
      `  sandboxes up: ${pair.org.messages.toLocaleString("en-US")} messages in ${pair.org.streams} streams, ${pair.org.mailboxes} mailboxes`,
    );
    const figures = await runOnce(host, pair, options, log);
    return pair.symphony.contentExport
      ? { ...figures, exportFiles: await exportFileFigures(pair, figures.connectorId) }
      : figures;
  } finally {
    await host.close(pair.id);
  }
}

async function runOnce(
  host: SandboxHost,
  pair: SandboxPair,
  options: PipelineCase,
  log: (line: string) => void,
): Promise<PipelineFigures & { connectorId: string }> {
  const { connector, suffix, environment } = await benchConnector(pair, options.storageConnectionString);
  const { id: connectorId } = connector;
  environment.graphScheduler = options.graphScheduler;
  const run = await db.importRun.create({
    data: { connectorId: connector.id, trigger: "MANUAL", requestedBy: "bench" },
  });
  const rss = startRssSampler(() => host.rss());
  const blobRequests = countBlobRequests(options.storageConnectionString);
  const before = (await host.stats(pair.id)).m365;
  const names = new Map([[host.pid, "sandboxes"]]);
  const cpuBefore = cpuByGroup(names);
  const timeline: PipelineFigures["timeline"] = [];
  const started = performance.now();
  let importStarted = 0;
  let lastLog = 0;
  let progress = { messagesCollected: 0, itemsDone: 0, itemsTotal: 0, phase: "collect" };
  const poll = setInterval(() => {
    if (importStarted === 0) return;
    void host
      .stats(pair.id)
      .then((stats) =>
        timeline.push({ at: performance.now(), requests: stats.m365.graphRequests - before.graphRequests }),
      );
  }, 250);
  const ticker = setInterval(() => {
    const seconds = (performance.now() - started) / 1000;
    if (seconds - lastLog < 5) return;
    lastLog = seconds;
    log(
      `  ${seconds.toFixed(0)}s ${progress.phase}: ${progress.messagesCollected} messages, ${progress.itemsDone}/${progress.itemsTotal} items, rss ${mb(rss.current())}, heap ${mb(process.memoryUsage().heapUsed)}/${mb(process.memoryUsage().heapTotal)}, external ${mb(process.memoryUsage().external)}`,
    );
  }, 1000);
  let summary;
  let requests: BlobRequests;
  try {
    summary = await runImport(run.id, {
      workerId: `bench-${suffix}`,
      environment,
      ...options.runOptions,
      onProgress: (p) => {
        progress = p;
        if (p.phase === "import" && importStarted === 0) importStarted = performance.now();
      },
    });
  } finally {
    clearInterval(poll);
    clearInterval(ticker);
    requests = blobRequests.stop();
    // Azurite's cost per request grows with the blobs it holds: the next run must not pay for this one's.
    await BlobServiceClient.fromConnectionString(options.storageConnectionString)
      .getContainerClient(environment.staging.containerName)
      .deleteIfExists();
  }
  const ended = performance.now();
  const cpu = cpuDelta(cpuBefore, cpuByGroup(names));
  const peaks = await rss.stop();
  const after: M365Stats = (await host.stats(pair.id)).m365;
  const throttled = (s: M365Stats) => s.throttled.concurrency + s.throttled.requests + s.throttled.upload;
  return {
    connectorId,
    messages: summary.messagesCollected,
    itemsImported: summary.counts.imported,
    itemsSkipped: summary.counts.skipped,
    itemsFailed: summary.counts.failed,
    graphRequests: after.graphRequests - before.graphRequests,
    graphHttpRequests: after.httpRequests - before.httpRequests,
    throttled: throttled(after) - throttled(before),
    collectMs: importStarted - started,
    importMs: ended - importStarted,
    totalMs: ended - started,
    peakRss: peaks.own,
    peakSandboxRss: peaks.other,
    rssFlatness: peaks.flatness,
    blobRequests: requests!,
    cpu,
    timeline: timeline.map(({ at, requests }) => ({ at: at - importStarted, requests })),
  };
}

/** A connector of the pair's Symphony pod and tenant, with its own staging container. */
export async function benchConnector(pair: SandboxPair, storageConnectionString: string) {
  const suffix = randomBytes(4).toString("hex");
  const connectorId = randomUUID();
  const connector = await db.connector.create({
    data: {
      id: connectorId,
      name: `bench-${suffix}`,
      status: "ACTIVE",
      createdBy: "bench",
      ...sourceSettings(pair, connectorId),
      podUrl: pair.symphony.podUrl,
      agentUrl: pair.symphony.agentUrl,
      keyManagerUrl: pair.symphony.keyManagerUrl,
      botUsername: pair.symphony.bot.username,
      privateKeyEncrypted: encryptSecret(pair.symphony.bot.privateKeyPem, botKeyContext(connectorId)),
      tenantId: pair.m365.tenantId,
      consentGrantedBy: "bench",
      consentGrantedAt: new Date(),
    },
  });
  const environment: PipelineEnvironment = {
    m365: {
      clientId: pair.m365.clientId,
      clientSecret: pair.m365.clientSecret,
      authorityHost: pair.m365.url,
      graphBaseUrl: pair.m365.graphBaseUrl,
    },
    staging: { connectionString: storageConnectionString, containerName: `bench-${suffix}`, spool: spoolFromConfig() },
  };
  return { connector, suffix, environment };
}

/** REST (the bot's conversations), or Content Export through the Files API with the sandbox's PGP key, as lib/testing's harness makes it. */
function sourceSettings(pair: SandboxPair, connectorId: string): Partial<SourceFields> {
  const contentExport = pair.symphony.contentExport;
  if (!contentExport) return { sourceKind: "CONVERSATIONS" };
  const { pgp } = contentExport;
  return {
    sourceKind: "CONTENT_EXPORT",
    exportDelivery: "FILES_API",
    pgpKeyEncrypted: encryptSecret(
      JSON.stringify({ armoredKey: pgp.privateKeyArmored, passphrase: pgp.passphrase }),
      pgpKeyContext(connectorId),
    ),
    pgpKeyIds: [pgp.keyId],
  };
}

async function exportFileFigures(pair: SandboxPair, connectorId: string): Promise<PipelineFigures["exportFiles"]> {
  const statuses = await db.exportFile.groupBy({ by: ["status"], where: { connectorId }, _count: true });
  const count = (status: string) => statuses.find((row) => row.status === status)?._count ?? 0;
  return {
    files: pair.symphony.contentExport!.files,
    done: count("DONE"),
    failed: count("FAILED"),
    bytes: pair.symphony.contentExport!.bytes,
    expectedItems: pair.symphony.contentExport!.expectedItems,
  };
}

export function mb(bytes: number): string {
  return `${Math.round(bytes / 1024 / 1024)} MB`;
}
