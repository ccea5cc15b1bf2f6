// The wizard's shared pieces for the step modules (internal: not exported from the folder's index).
import { db } from "@/lib/db";
import type { Prisma } from "@/lib/generated/prisma/client";
import { asEdited } from "./pending-edit";
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

/** The connector as the wizard edits it: an active one's edit not yet applied is over its settings. */
export async function loadForEdit(id: string) {
  return asEdited(await loadApplied(id));
}

/** The connector as its runs use it: an active one's edit not yet applied left aside. */
export async function loadApplied(id: string, client: Pick<typeof db, "connector"> = db) {
  const connector = await client.connector.findUnique({ where: { id } });
  if (!connector) throw new ConnectorNotFound("This connector no longer exists.");
  return connector;
}

/**
 * The connector as its runs use it, locked for the rest of `tx`: a step's save, Save changes and
 * Discard changes of the same connector wait for each other instead of overwriting the edit.
 */
export async function lockForEdit(tx: Prisma.TransactionClient, id: string) {
  await tx.$executeRaw`SELECT 1 FROM "Connector" WHERE id = ${id}::uuid FOR NO KEY UPDATE`;
  return loadApplied(id, tx);
}
