// Read side of the dashboard and flyout. Nothing here returns privateKeyEncrypted.
import { db } from "@/lib/db";
import { Prisma, type ConnectorStatus, type RunStatus } from "@/lib/generated/prisma/client";
import { parseCoverage } from "@/lib/pipeline";
import { asEdited, hasPendingEdit, pendingEditOf } from "./pending-edit";
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
  return connectorRows(filter);
}

/** Connectors the dashboard shows at once; the list goes on over further pages. */
export const CONNECTORS_PER_PAGE = 50;

export interface ConnectorPage {
  rows: ConnectorRow[];
  /** Connectors the filter keeps, over every page. */
  total: number;
  /** The page shown, from 1 (the last one when the page asked for is past the end). */
  page: number;
  pageCount: number;
}

/**
 * One page of the dashboard's list, in name order. Without a state filter only that page's connectors
 * are read; a state is worked out per connector (see connectorHealthView), so with one every connector
 * the search keeps is looked at and the page cut from those in that state.
 */
export async function listConnectorPage(filter: ConnectorListFilter, page: number): Promise<ConnectorPage> {
  const size = CONNECTORS_PER_PAGE;
  if (filter.state) {
    const all = await connectorRows(filter);
    const at = Math.min(Math.max(1, page), Math.max(1, Math.ceil(all.length / size)));
    return paged(all.slice((at - 1) * size, at * size), all.length, at);
  }
  const total = await db.connector.count({ where: searchWhere(filter) });
  const at = Math.min(Math.max(1, page), Math.max(1, Math.ceil(total / size)));
  return paged(await connectorRows(filter, { skip: (at - 1) * size, take: size }), total, at);
}

function paged(rows: ConnectorRow[], total: number, page: number): ConnectorPage {
  return { rows, total, page, pageCount: Math.max(1, Math.ceil(total / CONNECTORS_PER_PAGE)) };
}

function searchWhere(filter: ConnectorListFilter): Prisma.ConnectorWhereInput {
  return filter.search ? { name: { contains: filter.search, mode: "insensitive" } } : {};
}

async function connectorRows(
  filter: ConnectorListFilter,
  window: { skip: number; take: number } | undefined = undefined,
): Promise<ConnectorRow[]> {
  const all = await db.connector.findMany({
    where: searchWhere(filter),
    orderBy: [{ name: "asc" }, { id: "asc" }],
    ...window,
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
      counts: { select: { itemsImported: true } },
    },
  });
  const latest = await latestRunStatuses(all.map((c) => c.id));
  const viewed = all.map((c) => {
    const runs = latest.get(c.id) ?? [];
    return {
      ...c,
      runs,
      view: connectorHealthView(
        c,
        runs.filter((status) => FINISHED.includes(status)),
      ),
    };
  });
  // The state is worked out per connector (see connectorHealthView), so the filter applies to it here.
  const connectors = filter.state ? viewed.filter((c) => c.view.state === filter.state) : viewed;
  return connectors.map(({ runs, view, counts, health: _health, healthSince: _since, ...c }) => ({
    ...c,
    state: view.state,
    healthReason: view.reason,
    lastRunStatus: runs[0] ?? null,
    itemsImported: Number(counts?.itemsImported ?? 0),
  }));
}

/**
 * The statuses of each connector's latest three runs, newest first (a connector has one run open at
 * most: they hold its last two finished ones). One index probe per connector, however many runs each has.
 */
async function latestRunStatuses(connectorIds: string[]): Promise<Map<string, RunStatus[]>> {
  const rows = await db.$queryRaw<{ connectorId: string; status: RunStatus }[]>`
    SELECT c.id::text AS "connectorId", run.status::text AS status
    FROM unnest(${connectorIds}::uuid[]) AS c(id)
    CROSS JOIN LATERAL (
      SELECT status, "startedAt" FROM "ImportRun" WHERE "connectorId" = c.id ORDER BY "startedAt" DESC LIMIT 3
    ) AS run
    ORDER BY c.id, run."startedAt" DESC`;
  const byConnector = new Map<string, RunStatus[]>();
  for (const row of rows) byConnector.set(row.connectorId, [...(byConnector.get(row.connectorId) ?? []), row.status]);
  return byConnector;
}

/**
 * Every saved setting of one connector for the wizard and the flyout: a secret is only "on file" or
 * not. `asEdited` (the wizard) puts an active connector's edit not yet applied over its settings.
 */
export async function getConnectorSettings(id: string, { edited = false }: { edited?: boolean } = {}) {
  const row = await db.connector.findUnique({
    where: { id },
    omit: { consentState: true },
    include: { _count: { select: { mappings: true, pendingMappings: true } } },
  });
  if (!row) return null;
  const { _count, privateKeyEncrypted, sftpCredentialEncrypted, pgpKeyEncrypted, pendingEdit, ...settings } = edited
    ? asEdited(row)
    : row;
  const mapping = pendingEditOf({ pendingEdit }).mapping;
  return {
    ...settings,
    hasPrivateKey: privateKeyEncrypted !== null,
    hasSftpCredential: sftpCredentialEncrypted !== null,
    hasPgpKey: pgpKeyEncrypted !== null,
    mappingCount: edited && mapping?.csvReplaced ? _count.pendingMappings : _count.mappings,
    /** Source or Mapping steps saved in Edit that Finish has not applied yet. */
    editPending: hasPendingEdit({ pendingEdit }),
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
  // The ledger's counters (ConnectorDayCount) are kept per UTC day of ImportItem.importedAt.
  const rows = await db.connectorDayCount.findMany({
    where: { connectorId, day: { gte: since } },
    select: { day: true, itemsImported: true },
  });
  const byDay = new Map(rows.map((r) => [r.day.toISOString().slice(0, 10), Number(r.itemsImported)]));
  return Array.from({ length: days }, (_, i) => {
    const day = new Date(since.getTime() + i * 86_400_000).toISOString().slice(0, 10);
    return { day, count: byDay.get(day) ?? 0 };
  });
}

/**
 * Progress of a connector's latest run: the ledger rows of that run that are no longer pending. Only a
 * run in progress counts its rows (the bar shows only then); a finished one gives its own figures.
 */
export async function latestRunProgress(connectorId: string) {
  const run = await db.importRun.findFirst({
    // The real-time capture's own run (CONTINUOUS) stays open while capture goes on: not a run in progress.
    where: { connectorId, trigger: { not: "CONTINUOUS" } },
    orderBy: { startedAt: "desc" },
    omit: { coverage: true },
  });
  if (!run) return null;
  const finished = run.itemsImported + run.itemsSkipped + run.itemsFailed;
  const [total, pending] =
    run.status === "RUNNING"
      ? await Promise.all([
          db.importItem.count({ where: { runId: run.id } }),
          db.importItem.count({ where: { runId: run.id, status: "PENDING" } }),
        ])
      : [finished, 0];
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
  // The ledger's counters, kept by database triggers in the same transactions as its rows.
  const counts = await db.connectorCount.findUnique({ where: { connectorId } });
  return {
    health: connectorHealthView(
      connector,
      connector.runs.map((run) => run.status).filter((status) => FINISHED.includes(status)),
    ),
    totals: {
      messagesCollected: Number(counts?.messagesCollected ?? 0),
      itemsImported: Number(counts?.itemsImported ?? 0),
      itemsSkipped: Number(counts?.itemsSkipped ?? 0),
      itemsFailed: Number(counts?.itemsFailed ?? 0),
    },
  };
}

export type ConnectorOverview = NonNullable<Awaited<ReturnType<typeof connectorOverview>>>;

export type RunProgress = NonNullable<Awaited<ReturnType<typeof latestRunProgress>>>;
