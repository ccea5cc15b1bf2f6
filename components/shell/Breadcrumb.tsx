import Link from "next/link";
import { Fragment } from "react";

/** Where the page sits: links to the pages above it, then the page itself. */
export function Breadcrumb({ trail, current }: { trail: Array<{ href: string; label: string }>; current: string }) {
  return (
    <nav aria-label="Breadcrumb">
      <p className="text-muted">
        {trail.map((step) => (
          <Fragment key={step.href}>
            <Link href={step.href} className="text-brand underline">
              {step.label}
            </Link>
            <span aria-hidden="true"> / </span>
          </Fragment>
        ))}
        <span aria-current="page">{current}</span>
      </p>
    </nav>
  );
}
