import Link from "next/link";

export function EmptyState({ canAdd }: { canAdd: boolean }) {
  return (
    <div className="border-line flex flex-col items-center rounded-lg border border-dashed bg-white px-6 py-16 text-center">
      <svg aria-hidden="true" width="56" height="56" viewBox="0 0 56 56" className="text-brand">
        <rect x="6" y="14" width="20" height="28" rx="3" fill="none" stroke="currentColor" strokeWidth="2" />
        <rect x="30" y="14" width="20" height="28" rx="3" fill="none" stroke="currentColor" strokeWidth="2" />
        <path d="M26 28h4" stroke="currentColor" strokeWidth="2" />
      </svg>
      <h2 className="mt-4 text-lg font-semibold">No connectors yet</h2>
      <p className="text-muted mt-2 max-w-md">
        A connector copies Symphony chats, rooms and wall posts into the Microsoft 365 mailboxes of the people in them,
        where Litigation Hold, eDiscovery and retention policies can see them.
      </p>
      {canAdd ? (
        <Link
          href="/connectors/catalogue"
          className="bg-brand hover:bg-brand-dark mt-6 rounded px-4 py-2 font-semibold text-white"
        >
          Add connector
        </Link>
      ) : (
        <p className="text-muted mt-6">Ask a connector admin to add one.</p>
      )}
    </div>
  );
}
