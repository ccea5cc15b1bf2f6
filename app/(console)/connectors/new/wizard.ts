// Shared by the wizard's pages and server actions: who may open a step, and on which connector.
import { redirect } from "next/navigation";
import { z } from "zod";
import { actorName } from "@/lib/auth/roles";
import { ACCESS_DENIED_PATH, requireAdmin, requireSession, userIsAdmin } from "@/lib/auth/session";
import { getConnectorSettings, type ConnectorSettings } from "@/lib/connectors/queries";
import { canOpenStep, stepSlug, wizardHref, type WizardStepSlug } from "@/lib/connectors/steps";

const idSchema = z.uuid();

export type WizardSearchParams = Promise<Record<string, string | string[] | undefined>>;

/** For a step page: admins only; a later step than the draft allows sends the admin to the next open step. */
export async function openStep(
  slug: WizardStepSlug,
  searchParams: WizardSearchParams,
): Promise<{ connector?: ConnectorSettings; params: Record<string, string | undefined> }> {
  const user = await requireSession();
  if (!userIsAdmin(user)) redirect(ACCESS_DENIED_PATH);
  const raw = await searchParams;
  const params = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, Array.isArray(v) ? v[0] : v]));
  const id = idSchema.safeParse(params.id);
  if (!id.success) {
    if (slug !== "terms") redirect(wizardHref("terms"));
    return { params };
  }
  const connector = await getConnectorSettings(id.data);
  if (!connector) redirect("/connectors");
  if (!canOpenStep(slug, connector.wizardStep)) redirect(wizardHref(stepSlug(connector.wizardStep + 1), connector.id));
  return { connector, params };
}

/** For a step's server action: the admin's name (for audit) and the connector id from the form. */
export async function actionContext(formData: FormData): Promise<{ actor: string; connectorId?: string }> {
  const user = await requireAdmin();
  const id = idSchema.safeParse(formData.get("connectorId"));
  return { actor: actorName(user), connectorId: id.success ? id.data : undefined };
}

export interface StepState {
  errors?: Record<string, string>;
  message?: string;
  /** What the admin typed, sent back so a failed submit does not clear the form (never the private key). */
  values?: Record<string, string | string[]>;
  /** When the action ran: the form remounts with the returned values, and the latest of two actions wins. */
  attempt?: number;
}
