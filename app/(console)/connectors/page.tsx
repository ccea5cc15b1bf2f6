import type { Metadata } from "next";
import Link from "next/link";
import { z } from "zod";
import { ConnectorFilters } from "@/components/connectors/ConnectorFilters";
import { ConnectorTable } from "@/components/connectors/ConnectorTable";
import { EmptyState } from "@/components/connectors/EmptyState";
import { requireSession, userIsAdmin } from "@/lib/auth";
import { CONNECTOR_STATES, CONNECTORS_PER_PAGE, listConnectorPage } from "@/lib/connectors";
import { formatCount } from "@/components/connectors/format";
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
  page: z.coerce.number().int().min(1).max(100_000).catch(1),
  denied: z.literal("1").optional().catch(undefined),
});

export default async function ConnectorsPage({
  searchParams,
}: {
  searchParams: Promise<Record<string, string | string[]>>;
}) {
  const user = await requireSession();
  const isAdmin = userIsAdmin(user);
  const { q, status, connector, denied, page: asked } = searchSchema.parse(await searchParams);
  const { rows, total, page, pageCount } = await listConnectorPage({ search: q, state: status }, asked);
  const filtered = Boolean(q || status);
  const filters = { ...(q ? { q } : {}), ...(status ? { status } : {}) };
  const pageHref = (to: number) =>
    `/connectors?${new URLSearchParams({ ...filters, ...(to > 1 ? { page: String(to) } : {}) }).toString()}`;
  const query = new URLSearchParams({ ...filters, ...(page > 1 ? { page: String(page) } : {}) }).toString();
  const first = (page - 1) * CONNECTORS_PER_PAGE + 1;

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
      {total === 0 && !filtered ? (
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
          {pageCount > 1 ? (
            <nav aria-label="Pages of connectors" className="text-muted mt-2 flex items-center gap-4 text-xs">
              <p>
                {formatCount(first)}–{formatCount(first + rows.length - 1)} of {formatCount(total)} connectors
              </p>
              {page > 1 && (
                <Link href={pageHref(page - 1)} className="text-brand font-semibold hover:underline">
                  Previous page
                </Link>
              )}
              {page < pageCount && (
                <Link href={pageHref(page + 1)} className="text-brand font-semibold hover:underline">
                  Next page
                </Link>
              )}
            </nav>
          ) : (
            <p className="text-muted mt-2 text-xs">
              {total} connector{total === 1 ? "" : "s"}
            </p>
          )}
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
