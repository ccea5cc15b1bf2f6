/** When a connector's next scheduled run is due: one schedule interval after `from`. */
export function nextRunAfter(from: Date, intervalMinutes: number): Date {
  return new Date(from.getTime() + intervalMinutes * 60_000);
}
