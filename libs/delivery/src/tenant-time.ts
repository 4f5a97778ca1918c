/**
 * Wall-clock arithmetic in a tenant's time zone (quiet hours, calendar months), with Intl only.
 */

interface WallTime {
  year: number;
  month: number; // 1..12
  day: number;
  hour: number;
  minute: number;
  second: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

export function wallTime(instant: Date, timeZone: string): WallTime {
  const parts: Record<string, number> = {};
  for (const part of formatter(timeZone).formatToParts(instant)) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  return { year: parts.year, month: parts.month, day: parts.day, hour: parts.hour % 24, minute: parts.minute, second: parts.second };
}

/** The zone's offset from UTC at an instant, in milliseconds. */
function offsetAt(instant: number, timeZone: string): number {
  const w = wallTime(new Date(instant), timeZone);
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) - Math.floor(instant / 1000) * 1000;
}

/**
 * The instant at which the wall clock of the zone shows the given local time. A time shown twice
 * (autumn's repeated hour) is its first occurrence; a time never shown (spring's skipped hour)
 * moves forward by the gap (02:30 on the night clocks go 02:00 → 03:00 is 03:30).
 */
export function zonedInstant(timeZone: string, year: number, month: number, day: number, hour = 0, minute = 0, second = 0, millisecond = 0): Date {
  const target = Date.UTC(year, month - 1, day, hour, minute, second, millisecond);
  // The offsets in force half a day either side cover any one transition.
  const before = target - offsetAt(target - 12 * 3_600_000, timeZone);
  const after = target - offsetAt(target + 12 * 3_600_000, timeZone);
  const shows = (instant: number) => instant + offsetAt(instant, timeZone) === target;
  const candidates = [before, after].filter(shows).sort((a, b) => a - b);
  return new Date(candidates[0] ?? before);
}

/** An ISO 8601 date and time, with or without a UTC offset (`Z`, `+01:00`, `+0100`). */
export const ISO_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?$/;

/**
 * The instant an ISO 8601 date and time names: with an offset, that instant; without one, that
 * wall-clock time in the zone (a comune's `2026-12-03T08:00` is 08:00 in Rome). Null when the text
 * is not a valid date and time.
 */
export function instantOfLocal(text: string, timeZone: string): Date | null {
  const m = ISO_DATE_TIME.exec(text);
  if (!m) return null;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map((part) => Number(part ?? 0));
  const millisecond = m[7] ? Number(m[7].slice(0, 3).padEnd(3, '0')) : 0;
  // Fields out of range (13th month, 31 November, 25:00) are refused rather than rolled over.
  const probe = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  if (probe.getUTCFullYear() !== year || probe.getUTCMonth() !== month - 1 || probe.getUTCDate() !== day || probe.getUTCHours() !== hour || probe.getUTCMinutes() !== minute || probe.getUTCSeconds() !== second) return null;
  if (m[8]) {
    const instant = new Date(text);
    return Number.isNaN(instant.getTime()) ? null : instant;
  }
  return zonedInstant(timeZone, year, month, day, hour, minute, second, millisecond);
}

/** Midnight of the first day of the instant's month, in the zone. */
export function startOfMonth(instant: Date, timeZone: string): Date {
  const w = wallTime(instant, timeZone);
  return zonedInstant(timeZone, w.year, w.month, 1);
}

const minutesOf = (hhmm: string): number => {
  const [h, m] = hhmm.split(':').map(Number);
  return h * 60 + m;
};

export interface QuietHours {
  timezone: string;
  start: string; // HH:MM
  end: string; // HH:MM
}

/**
 * When the quiet hours that contain `instant` end, or null when `instant` is outside them.
 * Quiet hours may wrap midnight (21:00-08:00); equal start and end means none.
 */
export function quietHoursEnd(instant: Date, quiet: QuietHours): Date | null {
  const start = minutesOf(quiet.start);
  const end = minutesOf(quiet.end);
  if (start === end) return null;
  const w = wallTime(instant, quiet.timezone);
  const now = w.hour * 60 + w.minute;
  const inQuiet = start < end ? now >= start && now < end : now >= start || now < end;
  if (!inQuiet) return null;
  // The end is today when we are before it, else tomorrow (wrapping quiet hours after their start).
  const endsTomorrow = now >= end;
  const base = new Date(Date.UTC(w.year, w.month - 1, w.day + (endsTomorrow ? 1 : 0)));
  return zonedInstant(quiet.timezone, base.getUTCFullYear(), base.getUTCMonth() + 1, base.getUTCDate(), Math.floor(end / 60), end % 60);
}
