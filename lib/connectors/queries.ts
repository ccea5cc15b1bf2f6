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
