// The wizard's shared pieces for the step modules (internal: not exported from the folder's index).
import { db } from "@/lib/db";
import { stepNumber, type WizardStepSlug } from "./steps";

export class ConnectorNotFound extends Error {
  override name = "ConnectorNotFound";
}

/** The draft's highest completed step after completing `slug`. */
export function completed(slug: WizardStepSlug, current: number): number {
  return Math.max(current, stepNumber(slug));
}

export async function loadForEdit(id: string) {
  const connector = await db.connector.findUnique({ where: { id } });
  if (!connector) throw new ConnectorNotFound("This connector no longer exists.");
  return connector;
}
