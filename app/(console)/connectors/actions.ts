"use server";
import { revalidatePath } from "next/cache";
import { z } from "zod";
import { actorName } from "@/lib/auth/roles";
import { requireAdmin } from "@/lib/auth/session";
import {
  deleteConnector,
  pauseConnector,
  resumeConnector,
  runNow,
  type LifecycleResult,
} from "@/lib/connectors/lifecycle";

const idSchema = z.uuid();

async function asAdmin(
  connectorId: unknown,
  change: (id: string, actor: string) => Promise<LifecycleResult>,
): Promise<LifecycleResult> {
  const user = await requireAdmin();
  const id = idSchema.parse(connectorId);
  const result = await change(id, actorName(user));
  revalidatePath("/connectors");
  return result;
}

export async function runNowAction(connectorId: string) {
  return asAdmin(connectorId, runNow);
}

export async function pauseAction(connectorId: string) {
  return asAdmin(connectorId, pauseConnector);
}

export async function resumeAction(connectorId: string) {
  return asAdmin(connectorId, resumeConnector);
}

export async function deleteAction(connectorId: string) {
  return asAdmin(connectorId, deleteConnector);
}
