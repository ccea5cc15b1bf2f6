// Read side of the dashboard and flyout. Nothing here returns privateKeyEncrypted.
import { db } from "@/lib/db";
import { Prisma, type ConnectorStatus, type RunStatus } from "@/lib/generated/prisma/client";
import { parseCoverage } from "@/lib/pipeline";
import { connectorHealthView, type ConnectorState } from "./health-state";

export interface ConnectorListFilter {
  search?: string;
  state?: ConnectorState;
}

export interface ConnectorRow {
  id: string;
  name: string;
  status: ConnectorStatus;
  /** Connected, Needs attention, Degraded, Paused or Draft, and why when it is not healthy. */
  state: ConnectorState;
  healthReason: string | null;
  wizardStep: number;
  podUrl: string | null;
  /** When the last run finished (never the start of one still running). */
  lastRunAt: Date | null;
  lastRunStatus: string | null;
  nextRunAt: Date | null;
  itemsImported: number;
}

const FINISHED: RunStatus[] = ["SUCCEEDED", "PARTIAL", "FAILED"];

export async function listConnectors(filter: ConnectorListFilter = {}): Promise<ConnectorRow[]> {
  const where: Prisma.ConnectorWhereInput = {
    ...(filter.search ? { name: { contains: filter.search, mode: "insensitive" } } : {}),
  };
  const all = await db.connector.findMany({
    where,
    orderBy: { name: "asc" },
    select: {
      id: true,
      name: true,
      status: true,
      health: true,
      healthReason: true,
      healthSince: true,
      wizardStep: true,
      podUrl: true,
      lastRunAt: true,
      nextRunAt: true,
      // A connector has one run open at most: the latest three hold its last two finished ones.
      runs: { orderBy: { startedAt: "desc" }, take: 3, select: { status: true } },
    },
  });
  const viewed = all.map((c) => ({
    ...c,
    view: connectorHealthView(
      c,
      c.runs.map((run) => run.status).filter((status) => FINISHED.includes(status)),
    ),
  }));
  // The state is worked out per connector (see connectorHealthView), so the filter applies to it here.
  const connectors = filter.state ? viewed.filter((c) => c.view.state === filter.state) : viewed;
  const imported = await db.importItem.groupBy({
    by: ["connectorId"],
    where: { status: "IMPORTED", connectorId: { in: connectors.map((c) => c.id) } },
    _count: { _all: true },
  });
  const importedBy = new Map(imported.map((g) => [g.connectorId, g._count._all]));
  return connectors.map(({ runs, view, health: _health, healthSince: _since, ...c }) => ({
    ...c,
    state: view.state,
    healthReason: view.reason,
    lastRunStatus: runs[0]?.status ?? null,
    itemsImported: importedBy.get(c.id) ?? 0,
  }));
}

/** Every saved setting of one connector for the wizard and the flyout: the private key is only "on file" or not. */
export async function getConnectorSettings(id: string) {
  const connector = await db.connector.findUnique({
    where: { id },
    omit: { privateKeyEncrypted: true, sftpCredentialEncrypted: true, pgpKeyEncrypted: true, consentState: true },
    include: { _count: { select: { mappings: true } } },
  });
  if (!connector) return null;
  const secrets = await db.connector.findUniqueOrThrow({
    where: { id },
    select: { privateKeyEncrypted: true, sftpCredentialEncrypted: true, pgpKeyEncrypted: true },
  });
  const { _count, ...settings } = connector;
  return {
    ...settings,
    hasPrivateKey: secrets.privateKeyEncrypted !== null,
    hasSftpCredential: secrets.sftpCredentialEncrypted !== null,
    hasPgpKey: secrets.pgpKeyEncrypted !== null,
    mappingCount: _count.mappings,
  };
}

export type ConnectorSettings = NonNullable<Awaited<ReturnType<typeof getConnectorSettings>>>;

export async function listRuns(connectorId: string, take = 10) {
  return db.importRun.findMany({
    where: { connectorId },
    orderBy: { startedAt: "desc" },
    take,
    omit: { coverage: true }, // latestCoverage reads it, for one run
  });
}

/**
 * What the latest finished run of a "Conversations of the service account" connector read: the streams
 * it read, those Symphony refused (with the reason) and how many it skipped. Null before any such run.
 */
export async function latestCoverage(connectorId: string) {
  const run = await db.importRun.findFirst({
    where: { connectorId, status: { in: ["SUCCEEDED", "PARTIAL", "FAILED"] }, coverage: { not: Prisma.AnyNull } },
    orderBy: { startedAt: "desc" },
    select: { id: true, startedAt: true, coverage: true },
  });
  const coverage = run ? parseCoverage(run.coverage) : null;
  return run && coverage ? { runId: run.id, startedAt: run.startedAt, ...coverage } : null;
}

export type ConversationCoverage = NonNullable<Awaited<ReturnType<typeof latestCoverage>>>;

export type RunRow = Awaited<ReturnType<typeof listRuns>>[number];

/** Items imported per UTC day over the last `days` days, oldest first, zero-filled. */
export async function importedPerDay(connectorId: string, days = 14): Promise<{ day: string; count: number }[]> {
  const since = new Date(Date.now() - (days - 1) * 86_400_000);
  since.setUTCHours(0, 0, 0, 0);
  // Prisma keeps DateTime as UTC in "timestamp without time zone": the day is the UTC day.
  const rows = await db.$queryRaw<{ day: string; count: bigint }[]>`
    SELECT to_char("importedAt", 'YYYY-MM-DD') AS day, count(*) AS count
    FROM "ImportItem"
    WHERE "connectorId" = ${connectorId}::uuid AND status = 'IMPORTED' AND "importedAt" >= ${since}
    GROUP BY 1`;
  const byDay = new Map(rows.map((r) => [r.day, Number(r.count)]));
  return Array.from({ length: days }, (_, i) => {
    const day = new Date(since.getTime() + i * 86_400_000).toISOString().slice(0, 10);
    return { day, count: byDay.get(day) ?? 0 };
  });
}

/** Progress of a connector's latest run: the ledger rows of that run that are no longer pending. */
export async function latestRunProgress(connectorId: string) {
  const run = await db.importRun.findFirst({ where: { connectorId }, orderBy: { startedAt: "desc" } });
  if (!run) return null;
  const [total, pending] = await Promise.all([
    db.importItem.count({ where: { runId: run.id } }),
    db.importItem.count({ where: { runId: run.id, status: "PENDING" } }),
  ]);
  return {
    runId: run.id,
    status: run.status,
    messagesCollected: run.messagesCollected,
    itemsImported: run.itemsImported,
    itemsSkipped: run.itemsSkipped,
    itemsFailed: run.itemsFailed,
    itemsTotal: total,
    itemsDone: total - pending,
    error: run.error,
    /** Set while a run stopped by an error waits for its next try (ISO time; `error` says why). */
    nextAttemptAt: run.nextAttemptAt?.toISOString() ?? null,
  };
}

/**
 * The flyout's status block: the connector's health as the dashboard shows it, and its totals over
 * every run (the ledger's items by status and the messages collected), the same figures as the list's.
 */
export async function connectorOverview(connectorId: string) {
  const connector = await db.connector.findUnique({
    where: { id: connectorId },
    select: {
      status: true,
      health: true,
      healthReason: true,
      healthSince: true,
      runs: { orderBy: { startedAt: "desc" }, take: 3, select: { status: true } },
    },
  });
  if (!connector) return null;
  const [byStatus, messagesCollected] = await Promise.all([
    db.importItem.groupBy({ by: ["status"], where: { connectorId }, _count: { _all: true } }),
    db.sourceMessage.count({ where: { connectorId } }),
  ]);
  const items = (status: string) => byStatus.find((group) => group.status === status)?._count._all ?? 0;
  return {
    health: connectorHealthView(
      connector,
      connector.runs.map((run) => run.status).filter((status) => FINISHED.includes(status)),
    ),
    totals: {
      messagesCollected,
      itemsImported: items("IMPORTED"),
      itemsSkipped: items("SKIPPED"),
      itemsFailed: items("FAILED"),
    },
  };
}

export type ConnectorOverview = NonNullable<Awaited<ReturnType<typeof connectorOverview>>>;

export type RunProgress = NonNullable<Awaited<ReturnType<typeof latestRunProgress>>>;
