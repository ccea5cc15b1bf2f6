/** When a connector's next scheduled run is due: one schedule interval after `from`. */
export function nextRunAfter(from: Date, intervalMinutes: number): Date {
  return new Date(from.getTime() + intervalMinutes * 60_000);
}

/**
 * The first slot of the connector's schedule after `now`: slots are `previous` plus whole intervals, so
 * a late tick, a Run now or a pause and resume never shift the times the admin sees in the dashboard.
 * Without a previous slot the schedule starts one interval from now.
 */
export function nextSlotAfter(previous: Date | null, now: Date, intervalMinutes: number): Date {
  if (!previous) return nextRunAfter(now, intervalMinutes);
  const interval = intervalMinutes * 60_000;
  const behind = now.getTime() - previous.getTime();
  if (behind < 0) return previous;
  return new Date(previous.getTime() + (Math.floor(behind / interval) + 1) * interval);
}
