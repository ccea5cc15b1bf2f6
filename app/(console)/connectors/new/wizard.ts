// Shared by the wizard's pages and server actions: who may open a step, and on which connector.
import { redirect } from "next/navigation";
import { z } from "zod";
import { requireAdmin } from "@/lib/auth";
import {
  canOpenStep,
  getConnectorSettings,
  stepSlug,
  wizardHref,
  type ConnectorSettings,
  type WizardStepSlug,
} from "@/lib/connectors";

const idSchema = z.uuid();

export type WizardSearchParams = Promise<Record<string, string | string[] | undefined>>;

type OpenedStep<TSlug> = {
  /** Only the first step may be opened without a connector (it creates the draft). */
  connector: TSlug extends "terms" ? ConnectorSettings | undefined : ConnectorSettings;
  params: Record<string, string | undefined>;
};

/** For a step page: admins only; a later step than the draft allows sends the admin to the next open step. */
export async function openStep<TSlug extends WizardStepSlug>(
  slug: TSlug,
  searchParams: WizardSearchParams,
): Promise<OpenedStep<TSlug>> {
  await requireAdmin();
  const raw = await searchParams;
  const params = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, Array.isArray(v) ? v[0] : v]));
  const id = idSchema.safeParse(params.id);
  if (!id.success) {
    if (slug !== "terms") redirect(wizardHref("terms"));
    return { connector: undefined as OpenedStep<TSlug>["connector"], params };
  }
  const connector = await getConnectorSettings(id.data, { edited: true });
  if (!connector) redirect("/connectors");
  if (!canOpenStep(slug, connector.wizardStep)) redirect(wizardHref(stepSlug(connector.wizardStep + 1), connector.id));
  return { connector, params };
}

export interface StepState {
  errors?: Record<string, string>;
  message?: string;
  /** What the admin typed, sent back so a failed submit does not clear the form (never the private key). */
  values?: Record<string, string | string[]>;
  /** When the action ran: the form remounts with the returned values, and the latest of two actions wins. */
  attempt?: number;
}
