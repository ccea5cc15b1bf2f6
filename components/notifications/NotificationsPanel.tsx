import type { ChannelResult, NotificationTargets } from "@/lib/notify";
import { TestNotificationButton } from "./TestNotificationButton";

/** Where admins are told that a connector needs attention, and a button that sends a test message there. */
export function NotificationsPanel({
  targets,
  sendTest,
}: {
  targets: NotificationTargets;
  sendTest: () => Promise<ChannelResult[]>;
}) {
  const { webhookHost, email } = targets;
  const channels = [
    ...(email ? [`an e-mail from ${email.from} to ${email.to.join(", ")}`] : []),
    ...(webhookHost ? [`a webhook message to ${webhookHost}`] : []),
  ];
  return (
    <section aria-labelledby="notifications-title" className="border-line mt-8 rounded-lg border bg-white p-4">
      <h2 id="notifications-title" className="font-semibold">
        Notifications
      </h2>
      {channels.length > 0 ? (
        <>
          <p className="mt-1">When a connector starts to need attention, admins get {channels.join(" and ")}.</p>
          <div className="mt-3">
            <TestNotificationButton sendTest={sendTest} />
          </div>
        </>
      ) : (
        <p className="text-muted mt-1">
          Nobody is told when a connector needs attention. The operator can set NOTIFY_WEBHOOK_URL, or NOTIFY_EMAIL_FROM
          and NOTIFY_EMAIL_TO (the app then needs the Mail.Send permission), as the README describes.
        </p>
      )}
    </section>
  );
}
