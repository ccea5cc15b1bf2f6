// The wizard's shared pieces for the step modules (internal: not exported from the folder's index).
import { db } from "@/lib/db";
import { stepNumber, type WizardStepSlug } from "./steps";

export class ConnectorNotFound extends Error {
  override name = "ConnectorNotFound";
}

/**
 * The draft's highest completed step after completing `slug`. A step completes only after every step
 * before it: one saved out of order (a consent given on a draft that has no source yet, through a
 * crafted request) keeps what it saved but does not count, so Finish still asks for the steps between.
 */
export function completed(slug: WizardStepSlug, current: number): number {
  const step = stepNumber(slug);
  return current >= step - 1 ? Math.max(current, step) : current;
}

export async function loadForEdit(id: string) {
  const connector = await db.connector.findUnique({ where: { id } });
  if (!connector) throw new ConnectorNotFound("This connector no longer exists.");
  return connector;
}
