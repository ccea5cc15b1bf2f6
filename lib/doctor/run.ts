import { db } from "@/lib/db";
import { errorMessage } from "@/lib/errors";
import type { Connector } from "@/lib/generated/prisma/client";
import { logger } from "@/lib/logger";
import { redirectCheck } from "./app-url";
import { connectorChecks } from "./connectors";
import { databaseChecks } from "./database";
import { scrub } from "./guard";
import { microsoftChecks, type ConnectorFacts } from "./microsoft";
import type { DoctorSettings } from "./settings";
import { storageCheck } from "./storage";
import type { CheckGroup, CheckResult, CheckStatus, DoctorReport } from "./types";

export type DoctorOptions = {
  /** The connectors to check (default: every connector that is not a draft). Tests name their own. */
  connectorIds?: string[];
};

const REQUEST_TIMEOUT_MS = 15_000;

/**
 * Every check against the real services, grouped: Microsoft 365, storage and database, then each
 * connector. Never throws; no secret of the settings or the connectors appears in the words.
 */
export async function runDoctor(settings: DoctorSettings, options: DoctorOptions = {}): Promise<DoctorReport> {
  const started = Date.now();
  const [databaseResults, storage] = await Promise.all([
    databaseChecks(settings.database, { checkMigrations: true }),
    storageCheck(settings.storage, { write: true }),
  ]);
  const connectors = databaseResults[0]?.status === "fail" ? undefined : await loadConnectors(options.connectorIds);

  const [microsoft, perConnector] = await Promise.all([
    microsoftChecks(settings.m365, connectors?.facts),
    Promise.all(
      (connectors?.rows ?? []).map((connector) =>
        connectorChecks(connector, {
          allowPrivateHosts: settings.symphony.allowPrivateHosts,
          requestTimeoutMs: Math.min(REQUEST_TIMEOUT_MS, settings.timeoutMs ?? REQUEST_TIMEOUT_MS),
        }),
      ),
    ),
  ]);

  const groups: CheckGroup[] = [
    { id: "m365", title: "Microsoft 365", checks: [redirectCheck(settings.appUrl), ...microsoft] },
    { id: "storage", title: "Storage and database", checks: [...databaseResults, storage] },
    ...perConnector.map((c) => c.group),
  ];
  if (connectors && connectors.rows.length === 0) {
    groups.push({
      id: "connectors",
      title: "Connectors",
      checks: [
        {
          id: "connectors",
          title: "Connectors to check",
          status: "skipped",
          detail: "No connector is set up yet (drafts are not checked). Add one under Data connectors.",
        },
      ],
    });
  }
  const secrets = [...secretsOf(settings), ...perConnector.flatMap((c) => c.secrets)];
  return report(scrubbed(groups, secrets), started);
}

function report(groups: CheckGroup[], started: number): DoctorReport {
  const counts: Record<CheckStatus, number> = { ok: 0, warn: 0, fail: 0, skipped: 0 };
  for (const check of groups.flatMap((group) => group.checks)) counts[check.status] += 1;
  return {
    ranAt: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    groups,
    counts,
    ok: counts.fail === 0,
  };
}

type LoadedConnectors = { rows: Connector[]; facts: ConnectorFacts };

async function loadConnectors(ids: string[] | undefined): Promise<LoadedConnectors | undefined> {
  try {
    const all = await db.connector.findMany({ where: ids ? { id: { in: ids } } : {}, orderBy: { name: "asc" } });
    const rows = all.filter((connector) => connector.status !== "DRAFT");
    const mapped = await db.userMapping.findFirst({
      where: { connectorId: { in: rows.map((connector) => connector.id) } },
      orderBy: { id: "asc" },
      select: { mailbox: true },
    });
    const fallbacks = rows.flatMap((connector) => (connector.fallbackMailbox ? [connector.fallbackMailbox] : []));
    return {
      rows,
      facts: {
        consents: all.map(({ name, status, tenantId, consentGrantedBy, consentGrantedAt }) => ({
          name,
          status,
          tenantId,
          consentGrantedBy,
          consentGrantedAt,
        })),
        mailboxes: [...fallbacks, ...(mapped ? [mapped.mailbox] : [])],
      },
    };
  } catch (error) {
    // The app's own pool could not read them (the database check says why, when it is the database).
    logger.warn({ err: errorMessage(error) }, "doctor could not read the connectors");
    return undefined;
  }
}

function secretsOf(settings: DoctorSettings): string[] {
  const app = settings.m365.app;
  const values = [
    "error" in app ? undefined : app.clientSecret,
    "error" in app ? undefined : app.certificate?.privateKeyPem,
    settings.storage.connectionString,
    settings.database.url,
  ];
  return values.filter((value): value is string => Boolean(value));
}

function scrubbed(groups: CheckGroup[], secrets: string[]): CheckGroup[] {
  const clean = (check: CheckResult): CheckResult => ({
    ...check,
    title: scrub(check.title, secrets),
    detail: scrub(check.detail, secrets),
    ...(check.fix ? { fix: scrub(check.fix, secrets) } : {}),
  });
  return groups.map((group) => ({ ...group, title: scrub(group.title, secrets), checks: group.checks.map(clean) }));
}
