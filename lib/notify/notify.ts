// Telling admins that a connector needs them: a webhook (JSON POST) and/or an e-mail sent through Graph.
import { config } from "@/lib/config";
import { db } from "@/lib/db";
import { errorMessage } from "@/lib/errors";
import { logger } from "@/lib/logger";
import { sendMail, type M365SettingsInput } from "@/lib/m365";
import { m365AppFromConfig } from "@/lib/pipeline";

export type NotifySettings = {
  /** Receives a JSON POST ({event, text, connector, reason, since, url}). */
  webhookUrl?: string;
  /** The mailbox that sends (the import app needs the Mail.Send application permission) and who receives. */
  email?: { from: string; to: string[] };
  /** The console's address, for the link in each message. */
  appUrl: string;
  /** The import app registration, which sends the e-mail; its tenant is tenantId or the connector's. */
  m365?: Omit<M365SettingsInput, "tenantId">;
  /** ENTRA_TENANT_ID: the tenant of the sending mailbox, when set. */
  tenantId?: string;
  /** Time each channel may take (default 10 s). */
  timeoutMs?: number;
};

/** The settings of this process (lib/config.ts); `m365` is the import app registration when the caller has it. */
export function notifySettingsFromConfig(m365?: NotifySettings["m365"]): NotifySettings {
  const c = config();
  return {
    webhookUrl: c.NOTIFY_WEBHOOK_URL,
    email: c.NOTIFY_EMAIL_FROM && c.NOTIFY_EMAIL_TO ? { from: c.NOTIFY_EMAIL_FROM, to: c.NOTIFY_EMAIL_TO } : undefined,
    appUrl: c.APP_URL,
    m365,
    tenantId: c.ENTRA_TENANT_ID,
  };
}

/** The web console's settings: the import app registration sends the e-mail, when it is configured. */
export function consoleNotifySettings(): NotifySettings {
  let app: NotifySettings["m365"];
  try {
    app = m365AppFromConfig();
  } catch {
    app = undefined; // the test's e-mail result then says what is missing
  }
  return notifySettingsFromConfig(app);
}

export type NotificationTargets = { webhookHost?: string; email?: { from: string; to: string[] } };

/** Where notifications go, for the console to show (never the webhook's path or query: they often hold its secret). */
export function notificationTargets(settings: NotifySettings): NotificationTargets {
  return { webhookHost: settings.webhookUrl ? new URL(settings.webhookUrl).host : undefined, email: settings.email };
}

export type NeedsAttention = {
  connector: { id: string; name: string; tenantId: string | null };
  reason: string;
  since: Date;
};

export type ChannelResult = { channel: "webhook" | "email"; ok: boolean; detail: string };

/**
 * Tells admins that a connector entered Needs attention, on every configured channel. Never throws: a
 * channel that fails is logged (without the webhook's URL) and reported in the answer.
 */
export async function notifyNeedsAttention(settings: NotifySettings, event: NeedsAttention): Promise<ChannelResult[]> {
  const link = `${settings.appUrl.replace(/\/+$/, "")}/connectors?connector=${event.connector.id}`;
  const text =
    `Connector "${event.connector.name}" needs attention: ${event.reason}\n` +
    `Since ${event.since.toISOString().replace(/\.\d+Z$/, "Z")}. Open it: ${link}`;
  return send(
    settings,
    {
      event: "connector.needs_attention",
      text,
      connector: { id: event.connector.id, name: event.connector.name },
      reason: event.reason,
      since: event.since.toISOString(),
      url: link,
    },
    { subject: `Symphony connector "${event.connector.name}" needs attention`, text },
    event.connector.tenantId,
  );
}

/** The admin's "Send test notification": one message on every configured channel, and how each went. */
export async function sendTestNotification(settings: NotifySettings, actor: string): Promise<ChannelResult[]> {
  const link = `${settings.appUrl.replace(/\/+$/, "")}/connectors`;
  const text = `Test notification from the Symphony archive connector, sent by ${actor}. Connectors: ${link}`;
  return send(
    settings,
    { event: "test", text, url: link },
    { subject: "Symphony connector: test notification", text },
    await soleConsentedTenant(),
  );
}

async function send(
  settings: NotifySettings,
  payload: Record<string, unknown>,
  mail: { subject: string; text: string },
  connectorTenant: string | null | undefined,
): Promise<ChannelResult[]> {
  const timeoutMs = settings.timeoutMs ?? 10_000;
  const results: Promise<ChannelResult>[] = [];
  if (settings.webhookUrl) {
    const url = settings.webhookUrl;
    results.push(
      outcome("webhook", `posted to ${new URL(url).host}`, () => postWebhook(url, payload, timeoutMs), payload.event),
    );
  }
  const { email } = settings;
  if (email) {
    results.push(
      outcome(
        "email",
        `sent from ${email.from} to ${email.to.join(", ")}`,
        async () => {
          const tenantId = settings.tenantId ?? connectorTenant;
          if (!settings.m365 || !tenantId) {
            throw new Error(
              "the e-mail cannot be sent: no Microsoft 365 tenant is known (set ENTRA_TENANT_ID) or the app registration is not configured",
            );
          }
          await withTimeout(sendMail({ ...settings.m365, tenantId }, { ...email, ...mail }), timeoutMs);
        },
        payload.event,
      ),
    );
  }
  return Promise.all(results);
}

async function outcome(
  channel: ChannelResult["channel"],
  done: string,
  attempt: () => Promise<void>,
  event: unknown,
): Promise<ChannelResult> {
  try {
    await attempt();
    logger.info({ channel, event }, "notification sent");
    return { channel, ok: true, detail: done };
  } catch (error) {
    const detail = errorMessage(error).slice(0, 500);
    logger.warn({ channel, event, err: detail }, "notification failed");
    return { channel, ok: false, detail };
  }
}

async function postWebhook(url: string, payload: unknown, timeoutMs: number): Promise<void> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(payload),
      redirect: "manual",
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    // fetch's own message may repeat the URL (and the secret in its path): name the host only.
    const why = error instanceof Error && error.name === "TimeoutError" ? "no answer in time" : "network error";
    throw new Error(`the webhook at ${new URL(url).host} could not be reached (${why})`);
  }
  await response.body?.cancel();
  if (!response.ok) throw new Error(`the webhook at ${new URL(url).host} answered HTTP ${response.status}`);
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("Microsoft Graph did not answer in time")), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The one tenant the connectors consented in, when there is exactly one (the test has no connector). */
async function soleConsentedTenant(): Promise<string | undefined> {
  const tenants = await db.connector.findMany({
    where: { tenantId: { not: null }, consentGrantedAt: { not: null } },
    distinct: ["tenantId"],
    select: { tenantId: true },
    take: 2,
  });
  return tenants.length === 1 ? (tenants[0]!.tenantId ?? undefined) : undefined;
}
