import type { Metadata } from "next";
import Link from "next/link";
import { z } from "zod";
import { ConnectorFilters } from "@/components/connectors/ConnectorFilters";
import { ConnectorTable } from "@/components/connectors/ConnectorTable";
import { EmptyState } from "@/components/connectors/EmptyState";
import { requireSession, userIsAdmin } from "@/lib/auth";
import { CONNECTOR_STATES, listConnectors } from "@/lib/connectors";
import { NotificationsPanel } from "@/components/notifications/NotificationsPanel";
import { consoleNotifySettings, notificationTargets } from "@/lib/notify";
import { testNotificationAction } from "./actions";
import { ConnectorFlyout } from "./ConnectorFlyout";

export const metadata: Metadata = { title: "Data connectors" };

const searchSchema = z.object({
  q: z.string().trim().max(100).catch(""),
  // "ACTIVE" is what links made before the health states said for Connected.
  status: z
    .enum([...CONNECTOR_STATES, "ACTIVE"])
    .transform((state) => (state === "ACTIVE" ? "CONNECTED" : state))
    .optional()
    .catch(undefined),
  connector: z.uuid().optional().catch(undefined),
  denied: z.literal("1").optional().catch(undefined),
});

export default async function ConnectorsPage({
  searchParams,
}: {
  searchParams: Promise<Record<string, string | string[]>>;
}) {
  const user = await requireSession();
  const isAdmin = userIsAdmin(user);
  const { q, status, connector, denied } = searchSchema.parse(await searchParams);
  const rows = await listConnectors({ search: q, state: status });
  const filtered = Boolean(q || status);
  const query = new URLSearchParams({ ...(q ? { q } : {}), ...(status ? { status } : {}) }).toString();

  return (
    <div className="max-w-6xl">
      <h1 className="text-2xl font-semibold">Data connectors</h1>
      <p className="text-muted mt-1 max-w-3xl">
        Archive Symphony conversations into Microsoft 365 mailboxes so compliance features (Litigation Hold, eDiscovery,
        retention) cover them.
      </p>
      {denied && (
        <p role="alert" className="mt-4 rounded border border-amber-300 bg-amber-50 p-3 text-amber-900">
          Only connector admins can create or change connectors. You can look at connectors and download their status
          logs.
        </p>
      )}
      {rows.length === 0 && !filtered ? (
        <div className="mt-6">
          <EmptyState canAdd={isAdmin} />
        </div>
      ) : (
        <>
          <div className="mt-6 flex flex-wrap items-end justify-between gap-4">
            <ConnectorFilters search={q} status={status ?? ""} />
            {isAdmin && (
              <Link
                href="/connectors/catalogue"
                className="bg-brand hover:bg-brand-dark rounded px-4 py-2 font-semibold text-white"
              >
                Add connector
              </Link>
            )}
          </div>
          <div className="border-line mt-4 overflow-x-auto rounded-lg border">
            {rows.length > 0 ? (
              <ConnectorTable rows={rows} selectedId={connector} query={query} />
            ) : (
              <p className="text-muted bg-white p-6">No connector matches this filter.</p>
            )}
          </div>
          <p className="text-muted mt-2 text-xs">
            {rows.length} connector{rows.length === 1 ? "" : "s"}
          </p>
        </>
      )}
      {isAdmin && (
        <NotificationsPanel targets={notificationTargets(consoleNotifySettings())} sendTest={testNotificationAction} />
      )}
      {connector && (
        <ConnectorFlyout id={connector} isAdmin={isAdmin} closeHref={`/connectors${query ? `?${query}` : ""}`} />
      )}
    </div>
  );
}
