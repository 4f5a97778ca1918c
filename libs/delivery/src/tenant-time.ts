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

/** The instant at which the wall clock of the zone shows the given local time (DST gaps resolve forwards). */
export function zonedInstant(timeZone: string, year: number, month: number, day: number, hour = 0, minute = 0): Date {
  const target = Date.UTC(year, month - 1, day, hour, minute);
  let guess = target;
  for (let i = 0; i < 3; i++) {
    const w = wallTime(new Date(guess), timeZone);
    const shown = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
    const diff = target - shown;
    if (diff === 0) break;
    guess += diff;
  }
  return new Date(guess);
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
