"use server";
import { revalidatePath } from "next/cache";
import { z } from "zod";
import { adminAction } from "@/lib/auth";
import {
  deleteConnector,
  pauseConnector,
  resumeConnector,
  retryFailedItems,
  runNow,
  type LifecycleResult,
} from "@/lib/connectors";
import { consoleNotifySettings, sendTestNotification, type ChannelResult } from "@/lib/notify";

/** The flyout's buttons: each takes the connector id and answers what happened. */
function lifecycleAction(change: (id: string, actor: string) => Promise<LifecycleResult>) {
  return adminAction(z.uuid(), async (connectorId, { actor }) => {
    const result = await change(connectorId, actor);
    revalidatePath("/connectors");
    return result;
  });
}

export const runNowAction = lifecycleAction(runNow);
export const retryFailedAction = lifecycleAction(retryFailedItems);
export const pauseAction = lifecycleAction(pauseConnector);
export const resumeAction = lifecycleAction(resumeConnector);
export const deleteAction = lifecycleAction(deleteConnector);

/** "Send test notification": one message on every configured channel, and how each went. */
export const testNotificationAction = adminAction(
  z.object({}).optional(),
  async (_, { actor }): Promise<ChannelResult[]> => sendTestNotification(consoleNotifySettings(), actor),
);
