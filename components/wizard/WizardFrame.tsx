import Link from "next/link";
import type { ReactNode } from "react";
import { WIZARD_STEPS, canOpenStep, stepNumber, wizardHref, type WizardStepSlug } from "@/lib/connectors";
import { Breadcrumb } from "@/components/shell/Breadcrumb";

interface Props {
  step: WizardStepSlug;
  connectorId?: string;
  completed: number;
  title: string;
  connectorName?: string;
  /** Shown above the step's form. */
  notice?: ReactNode;
  children: ReactNode;
}

/** Compliance-center style wizard: step list on the left, one step's form on the right. */
export function WizardFrame({ step, connectorId, completed, title, connectorName, notice, children }: Props) {
  const current = stepNumber(step);
  return (
    <div className="max-w-5xl">
      <Breadcrumb
        trail={[{ href: "/connectors", label: "Data connectors" }]}
        current={connectorName ?? "New Symphony connector"}
      />
      <div className="border-line mt-4 flex flex-col overflow-hidden rounded-lg border bg-white md:flex-row">
        <nav
          aria-label="Setup steps"
          className="border-line bg-canvas/60 shrink-0 border-b p-4 md:w-60 md:border-r md:border-b-0 md:p-6"
        >
          <ol className="relative grid grid-cols-2 gap-3 text-sm sm:grid-cols-3 md:block md:space-y-5 md:text-base">
            {WIZARD_STEPS.map((s, index) => {
              const number = index + 1;
              const done = number <= completed && number !== current;
              const reachable = Boolean(connectorId) && canOpenStep(s.slug, completed);
              const marker = done
                ? "bg-brand text-white border-brand"
                : number === current
                  ? "border-brand text-brand"
                  : "border-gray-400 text-muted";
              const label = (
                <span className="flex items-center gap-3">
                  <span
                    aria-hidden="true"
                    className={`flex h-6 w-6 shrink-0 items-center justify-center rounded-full border-2 text-xs font-semibold ${marker}`}
                  >
                    {done ? "✓" : number}
                  </span>
                  <span className={number === current ? "font-semibold" : ""}>
                    {s.label}
                    {done && <span className="sr-only"> (completed)</span>}
                  </span>
                </span>
              );
              return (
                <li key={s.slug} aria-current={number === current ? "step" : undefined}>
                  {reachable && number !== current ? (
                    <Link href={wizardHref(s.slug, connectorId)} className="hover:underline">
                      {label}
                    </Link>
                  ) : (
                    label
                  )}
                </li>
              );
            })}
          </ol>
        </nav>
        <section className="min-w-0 flex-1 p-4 sm:p-8" aria-labelledby="step-title">
          <h1 id="step-title" className="text-xl font-semibold">
            {title}
          </h1>
          <div className="mt-4">
            {notice}
            {children}
          </div>
        </section>
      </div>
    </div>
  );
}
