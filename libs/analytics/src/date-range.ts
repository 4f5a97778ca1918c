import { BadRequestError } from '@app/core';

export type Interval = 'day' | 'week' | 'month';

export const MAX_RANGE_DAYS = 366;
export const DEFAULT_RANGE_DAYS = 30;

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;

/** The calendar date (YYYY-MM-DD) of an instant in a timezone. */
export function localDate(instant: Date, timezone: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone: timezone, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(instant);
  const get = (type: string) => parts.find((p) => p.type === type)!.value;
  return `${get('year')}-${get('month')}-${get('day')}`;
}

const toUtcDay = (date: string): number => Date.parse(`${date}T00:00:00Z`) / 86_400_000;
export const addDays = (date: string, days: number): string => new Date((toUtcDay(date) + days) * 86_400_000).toISOString().slice(0, 10);
export const daysBetween = (from: string, to: string): number => toUtcDay(to) - toUtcDay(from);

/**
 * A query's date: `YYYY-MM-DD` (a calendar day of the comune) or an ISO 8601 instant (its
 * calendar day in the comune's timezone). Anything else is 400 naming the field.
 */
export function parseQueryDate(field: string, value: string, timezone: string): string {
  const date = DATE.exec(value);
  if (date) {
    const [, y, m, d] = date.map(Number);
    // setUTCFullYear, not Date.UTC: that one reads years 0..99 as 1900..1999.
    const check = new Date(0);
    check.setUTCFullYear(y, m - 1, d);
    if (check.getUTCFullYear() === y && check.getUTCMonth() === m - 1 && check.getUTCDate() === d) return value;
  } else if (DATE_TIME.test(value)) {
    const instant = new Date(value);
    if (!Number.isNaN(instant.getTime())) return localDate(instant, timezone);
  }
  throw new BadRequestError(`${field} must be an ISO 8601 date (YYYY-MM-DD)`);
}

/** from/to of a time series, defaulted and checked: from ≤ to, at most MAX_RANGE_DAYS days. */
export function resolveRange(query: { from?: string; to?: string }, timezone: string, now: Date): { from: string; to: string } {
  const to = query.to ? parseQueryDate('to', query.to, timezone) : localDate(now, timezone);
  const from = query.from ? parseQueryDate('from', query.from, timezone) : addDays(to, -(DEFAULT_RANGE_DAYS - 1));
  if (daysBetween(from, to) < 0) throw new BadRequestError('from must not be after to');
  if (daysBetween(from, to) + 1 > MAX_RANGE_DAYS) throw new BadRequestError(`The range from..to may span at most ${MAX_RANGE_DAYS} days`);
  return { from, to };
}

/** The first day of the bucket a day falls in (weeks start on Monday, ISO). */
export function bucketStart(date: string, interval: Interval): string {
  if (interval === 'day') return date;
  if (interval === 'month') return `${date.slice(0, 7)}-01`;
  const weekday = (new Date(`${date}T00:00:00Z`).getUTCDay() + 6) % 7; // Monday = 0
  return addDays(date, -weekday);
}

/** The instant a local calendar day starts in a timezone. */
export function startOfLocalDay(date: string, timezone: string): Date {
  // Guess midnight UTC, then correct by the zone's offset at that instant (twice, for DST edges).
  let guess = Date.parse(`${date}T00:00:00Z`);
  for (let i = 0; i < 2; i++) {
    const local = localDateTimeMs(new Date(guess), timezone);
    guess += Date.parse(`${date}T00:00:00Z`) - local;
  }
  return new Date(guess);
}

function localDateTimeMs(instant: Date, timezone: string): number {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone: timezone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
  }).formatToParts(instant);
  const get = (type: string) => Number(parts.find((p) => p.type === type)!.value);
  return Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
}
