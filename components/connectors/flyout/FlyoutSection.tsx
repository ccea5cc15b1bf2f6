import type { ReactNode } from "react";

/** A titled part of the connector flyout. */
export function FlyoutSection({ title, children }: { title: string; children: ReactNode }) {
  const id = `flyout-${title.toLowerCase().replace(/\W+/g, "-")}`;
  return (
    <section aria-labelledby={id} className="border-line border-t py-4">
      <h3 id={id} className="font-semibold">
        {title}
      </h3>
      <div className="mt-2">{children}</div>
    </section>
  );
}

/** Label / value pairs; a long value (an address, a URL) wraps inside its column on a phone. */
export function PropertyList({ rows }: { rows: [string, ReactNode][] }) {
  return (
    <dl className="grid grid-cols-[minmax(0,10rem)_minmax(0,1fr)] gap-x-3 gap-y-1">
      {rows.map(([label, value]) => (
        <div key={label} className="contents">
          <dt className="text-muted">{label}</dt>
          <dd className="[overflow-wrap:anywhere]">{value}</dd>
        </div>
      ))}
    </dl>
  );
}
