export {
  consoleNotifySettings,
  notificationTargets,
  notifyNeedsAttention,
  notifySettingsFromConfig,
  sendTestNotification,
  type ChannelResult,
  type NeedsAttention,
  type NotificationTargets,
  type NotifySettings,
} from "./notify";
