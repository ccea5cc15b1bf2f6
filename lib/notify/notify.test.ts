import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { canRun, sandboxCaDir } from "@/lib/testing";
import { startM365Sandbox, type M365Sandbox } from "@/sandbox/m365";
import { notifyNeedsAttention, sendTestNotification, type NotifySettings } from "./notify";

const ALERTS = "alerts@contoso.example";
const ADMIN = "it-admin@contoso.example";
const event = {
  connector: { id: "7d0c9f3e-2a51-4c8e-9b7a-1f2e3d4c5b6a", name: "Symphony archive", tenantId: null },
  reason: 'Symphony refused the sign-in: the pod rejected the key of service account "archive-bot".',
  since: new Date("2026-12-02T14:00:00Z"),
};

/** A webhook receiver answering `status`; the bodies it got. */
async function startWebhook(status = 204) {
  const received: unknown[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      received.push(JSON.parse(Buffer.concat(chunks).toString("utf8")));
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/services/T0/B0/webhook-secret`, received, close: () => server.close() };
}

describe.skipIf(!canRun)("notifications", () => {
  const sandboxes: M365Sandbox[] = [];
  const closers: Array<() => void> = [];
  const start = async (appRoles: string[]) => {
    const sandbox = await startM365Sandbox({
      caDir: sandboxCaDir,
      consented: true,
      appRoles,
      mailboxes: [
        { address: ALERTS, displayName: "Connector alerts" },
        { address: ADMIN, displayName: "IT admin" },
      ],
    });
    sandboxes.push(sandbox);
    return sandbox;
  };
  const settingsFor = (sandbox: M365Sandbox, extra: Partial<NotifySettings> = {}): NotifySettings => ({
    appUrl: "https://archive.example.com/",
    email: { from: ALERTS, to: [ADMIN] },
    m365: {
      clientId: sandbox.app.clientId,
      clientSecret: sandbox.app.clientSecret,
      authorityHost: sandbox.url,
      graphBaseUrl: sandbox.graphBaseUrl,
    },
    tenantId: sandbox.tenantId,
    ...extra,
  });
  let withMailSend: M365Sandbox;

  beforeAll(async () => {
    withMailSend = await start(["Mail.ReadWrite", "User.Read.All", "Mail.Send"]);
  });
  afterEach(() => closers.splice(0).forEach((close) => close()));
  afterAll(() => Promise.all(sandboxes.map((sandbox) => sandbox.close())));

  it("e-mails the admins through Graph from the configured mailbox and posts to the webhook, with a link to the connector", async () => {
    const webhook = await startWebhook();
    closers.push(webhook.close);
    const results = await notifyNeedsAttention(settingsFor(withMailSend, { webhookUrl: webhook.url }), event);

    expect(results).toEqual([
      { channel: "webhook", ok: true, detail: `posted to ${new URL(webhook.url).host}` },
      { channel: "email", ok: true, detail: `sent from ${ALERTS} to ${ADMIN}` },
    ]);
    expect(withMailSend.items(ADMIN)).toEqual([
      expect.objectContaining({
        folder: "Inbox",
        from: ALERTS,
        subject: 'Symphony connector "Symphony archive" needs attention',
      }),
    ]);
    expect(webhook.received).toEqual([
      expect.objectContaining({
        event: "connector.needs_attention",
        reason: event.reason,
        url: `https://archive.example.com/connectors?connector=${event.connector.id}`,
      }),
    ]);
  });

  it("reports, without throwing, an app without Mail.Send and a webhook that fails, naming the webhook's host only", async () => {
    const withoutMailSend = await start(["Mail.ReadWrite", "User.Read.All"]);
    const webhook = await startWebhook(500);
    closers.push(webhook.close);
    const results = await sendTestNotification(
      settingsFor(withoutMailSend, { webhookUrl: webhook.url }),
      "Adele Admin",
    );

    expect(results).toEqual([
      { channel: "webhook", ok: false, detail: `the webhook at ${new URL(webhook.url).host} answered HTTP 500` },
      {
        channel: "email",
        ok: false,
        detail: expect.stringContaining(
          `Microsoft 365 refused to send mail as ${ALERTS}: the app needs the Mail.Send application permission`,
        ) as unknown,
      },
    ]);
    expect(JSON.stringify(results)).not.toContain("webhook-secret");
    expect(withoutMailSend.items(ADMIN)).toEqual([]);
    expect(webhook.received).toEqual([expect.objectContaining({ event: "test" })]);
  });
});
