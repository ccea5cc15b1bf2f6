// The Files API's own examples carry timestamps such as `2025-05-12-09T14:30:00Z` (an hour wedged
// between the date and the time), so times are read leniently: a time we cannot read is null, never a
// failed listing.

const ISO_LIKE =
  /^(\d{4})-(\d{2})-(\d{2})(?:-(\d{2}))?(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$/i;

/** A Date from an ISO 8601 string (tolerating the malformed shapes above), an epoch number or null. */
export function parseLenientTime(value: unknown): Date | null {
  if (typeof value === "number") return fromEpoch(value);
  if (typeof value !== "string") return null;
  const text = value.trim();
  if (/^\d{9,}$/.test(text)) return fromEpoch(Number(text));
  const match = ISO_LIKE.exec(text);
  if (!match) return null;
  const [, year, month, day, wedgedHour, hour, minute, second, fraction, zone] = match;
  const millis = fraction ? Number(fraction.slice(0, 3).padEnd(3, "0")) : 0;
  return utcDate({
    year: Number(year),
    month: Number(month),
    day: Number(day),
    hour: Number(hour ?? wedgedHour ?? 0),
    minute: Number(minute ?? 0),
    second: Number(second ?? 0),
    millis,
    offsetMinutes: zoneOffsetMinutes(zone),
  });
}

/** Epoch seconds or milliseconds, told apart by magnitude (seconds stay below 1e11 until the year 5138). */
function fromEpoch(value: number): Date | null {
  if (!Number.isFinite(value) || value < 0) return null;
  const date = new Date(value < 1e11 ? value * 1000 : value);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** A UTC date from its parts; null when a part is out of range (2025-02-30, hour 25). */
export function utcDate(parts: {
  year: number;
  month: number;
  day: number;
  hour?: number;
  minute?: number;
  second?: number;
  millis?: number;
  offsetMinutes?: number;
}): Date | null {
  const { year, month, day, hour = 0, minute = 0, second = 0, millis = 0, offsetMinutes = 0 } = parts;
  const local = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  const check = new Date(local);
  const valid =
    check.getUTCFullYear() === year &&
    check.getUTCMonth() === month - 1 &&
    check.getUTCDate() === day &&
    check.getUTCHours() === hour &&
    check.getUTCMinutes() === minute &&
    check.getUTCSeconds() === second;
  return valid ? new Date(local - offsetMinutes * 60_000) : null;
}

function zoneOffsetMinutes(zone: string | undefined): number {
  if (!zone || zone.toUpperCase() === "Z") return 0;
  const sign = zone.startsWith("-") ? -1 : 1;
  const digits = zone.slice(1).replace(":", "");
  return sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4)));
}
