// The six wizard steps in order; wizardStep in the Connector row is the index (1-based) of the last one completed.
export const WIZARD_STEPS = [
  { slug: "terms", label: "Terms of service" },
  { slug: "name", label: "Name" },
  { slug: "source", label: "Source" },
  { slug: "mapping", label: "User mapping" },
  { slug: "consent", label: "Admin consent" },
  { slug: "review", label: "Review" },
] as const;

export type WizardStepSlug = (typeof WIZARD_STEPS)[number]["slug"];

export function stepNumber(slug: WizardStepSlug): number {
  return WIZARD_STEPS.findIndex((step) => step.slug === slug) + 1;
}

export function stepSlug(number: number): WizardStepSlug {
  const step = WIZARD_STEPS[Math.min(Math.max(number, 1), WIZARD_STEPS.length) - 1];
  if (!step) throw new Error(`There is no wizard step ${number}.`);
  return step.slug;
}

/** A step can be opened once every step before it is complete. */
export function canOpenStep(slug: WizardStepSlug, completed: number): boolean {
  return stepNumber(slug) <= completed + 1;
}

export function wizardHref(slug: WizardStepSlug, connectorId?: string): string {
  return `/connectors/new/${slug}${connectorId ? `?id=${connectorId}` : ""}`;
}

const PROVISIONAL_PREFIX = "Untitled connector ";

/** The placeholder a draft carries until its Name step is saved (the name must be unique). */
export function provisionalName(connectorId: string): string {
  return `${PROVISIONAL_PREFIX}${connectorId.slice(0, 8)}`;
}

/** The name the admin gave, or undefined while the draft still carries its placeholder. */
export function chosenName(connector: { name: string; wizardStep: number }): string | undefined {
  const placeholder = connector.name.startsWith(PROVISIONAL_PREFIX) && connector.wizardStep < stepNumber("name");
  return placeholder ? undefined : connector.name;
}
