/** Something the admin should know before going on, that does not stop them. */
export function Warning({ title, children }: { title: string; children: string }) {
  return (
    <div
      role="note"
      aria-label={title}
      className="mb-6 max-w-2xl rounded border border-amber-400 bg-amber-50 p-3 text-amber-950"
    >
      <p className="font-semibold">{title}</p>
      <p className="mt-1">{children}</p>
    </div>
  );
}
