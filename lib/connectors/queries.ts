// Read side of the dashboard and flyout. Nothing here returns privateKeyEncrypted.
import { db } from "@/lib/db";
import type { ConnectorStatus, Prisma } from "@/lib/generated/prisma/client";

export interface ConnectorListFilter {
  search?: string;
  status?: ConnectorStatus;
}

export interface ConnectorRow {
  id: string;
  name: string;
  status: ConnectorStatus;
  wizardStep: number;
  podUrl: string | null;
  lastRunAt: Date | null;
  lastRunStatus: string | null;
  nextRunAt: Date | null;
  itemsImported: number;
}

export async function listConnectors(filter: ConnectorListFilter = {}): Promise<ConnectorRow[]> {
  const where: Prisma.ConnectorWhereInput = {
    ...(filter.status ? { status: filter.status } : {}),
    ...(filter.search ? { name: { contains: filter.search, mode: "insensitive" } } : {}),
  };
  const connectors = await db.connector.findMany({
    where,
    orderBy: { name: "asc" },
    select: {
      id: true,
      name: true,
      status: true,
      wizardStep: true,
      podUrl: true,
      lastRunAt: true,
      nextRunAt: true,
      runs: { orderBy: { startedAt: "desc" }, take: 1, select: { status: true, startedAt: true } },
    },
  });
  const imported = await db.importItem.groupBy({
    by: ["connectorId"],
    where: { status: "IMPORTED", connectorId: { in: connectors.map((c) => c.id) } },
    _count: { _all: true },
  });
  const importedBy = new Map(imported.map((g) => [g.connectorId, g._count._all]));
  return connectors.map(({ runs, ...c }) => ({
    ...c,
    lastRunAt: c.lastRunAt ?? runs[0]?.startedAt ?? null,
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
  return db.importRun.findMany({ where: { connectorId }, orderBy: { startedAt: "desc" }, take });
}

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
  };
}

export type RunProgress = NonNullable<Awaited<ReturnType<typeof latestRunProgress>>>;
