const styles: Record<string, { label: string; className: string }> = {
  DRAFT: { label: "Draft", className: "bg-gray-100 text-gray-800 border-gray-300" },
  ACTIVE: { label: "Connected", className: "bg-green-50 text-green-800 border-green-300" },
  PAUSED: { label: "Paused", className: "bg-amber-50 text-amber-900 border-amber-300" },
  CONNECTED: { label: "Connected", className: "bg-green-50 text-green-800 border-green-300" },
  NEEDS_ATTENTION: { label: "Needs attention", className: "bg-red-50 text-red-800 border-red-300" },
  DEGRADED: { label: "Degraded", className: "bg-amber-50 text-amber-900 border-amber-300" },
  RETRYING: { label: "Retrying", className: "bg-amber-50 text-amber-900 border-amber-300" },
  QUEUED: { label: "Queued", className: "bg-gray-100 text-gray-800 border-gray-300" },
  RUNNING: { label: "Running", className: "bg-blue-50 text-blue-800 border-blue-300" },
  SUCCEEDED: { label: "Succeeded", className: "bg-green-50 text-green-800 border-green-300" },
  PARTIAL: { label: "Partly succeeded", className: "bg-amber-50 text-amber-900 border-amber-300" },
  FAILED: { label: "Failed", className: "bg-red-50 text-red-800 border-red-300" },
};

/** Connector or run status as a small labelled pill (text, not colour alone, carries the meaning). */
export function StatusBadge({ status }: { status: string }) {
  const style = styles[status] ?? { label: status, className: "bg-gray-100 text-gray-800 border-gray-300" };
  return (
    <span
      className={`inline-flex items-center rounded-full border px-2 py-0.5 text-xs font-semibold ${style.className}`}
    >
      {style.label}
    </span>
  );
}
