import { BadRequestError } from '@app/core';
import { addDays, bucketStart, localDate, parseQueryDate, resolveRange, startOfLocalDay } from './date-range';

describe('analytics date ranges', () => {
  const now = new Date('2025-03-30T22:30:00Z'); // already 31 March in Rome (UTC+2 after the DST switch)

  it('reads today in the comune timezone', () => {
    expect(localDate(now, 'Europe/Rome')).toBe('2025-03-31');
    expect(localDate(now, 'UTC')).toBe('2025-03-30');
  });

  it('defaults to the last 30 days and accepts dates and instants', () => {
    expect(resolveRange({}, 'Europe/Rome', now)).toEqual({ from: '2025-03-02', to: '2025-03-31' });
    expect(resolveRange({ from: '2025-01-01', to: '2025-01-31' }, 'Europe/Rome', now)).toEqual({ from: '2025-01-01', to: '2025-01-31' });
    expect(parseQueryDate('from', '2025-01-01T23:30:00Z', 'Europe/Rome')).toBe('2025-01-02');
    // Years below 100 are years, not 19xx.
    expect(parseQueryDate('from', '0001-01-01', 'UTC')).toBe('0001-01-01');
    expect(() => parseQueryDate('from', '0001-02-30', 'UTC')).toThrow(BadRequestError);
  });

  it('refuses bad dates, reversed ranges and ranges over 366 days with a 400', () => {
    for (const bad of ['2025-02-30', '01/02/2025', 'yesterday', '2025-1-1']) {
      expect(() => parseQueryDate('from', bad, 'UTC')).toThrow(BadRequestError);
    }
    expect(() => resolveRange({ from: '2025-02-02', to: '2025-02-01' }, 'UTC', now)).toThrow(/from must not be after to/);
    expect(() => resolveRange({ from: '2024-01-01', to: '2025-01-01' }, 'UTC', now)).toThrow(/366/);
    expect(resolveRange({ from: '2024-01-01', to: '2024-12-31' }, 'UTC', now)).toEqual({ from: '2024-01-01', to: '2024-12-31' });
  });

  it('buckets days into ISO weeks and months', () => {
    expect(bucketStart('2025-03-30', 'week')).toBe('2025-03-24'); // a Sunday → its Monday
    expect(bucketStart('2025-03-24', 'week')).toBe('2025-03-24');
    expect(bucketStart('2025-03-30', 'month')).toBe('2025-03-01');
    expect(addDays('2024-02-28', 1)).toBe('2024-02-29');
  });

  it('finds the instant a local day starts', () => {
    expect(startOfLocalDay('2025-03-31', 'Europe/Rome').toISOString()).toBe('2025-03-30T22:00:00.000Z');
    expect(startOfLocalDay('2025-01-15', 'Europe/Rome').toISOString()).toBe('2025-01-14T23:00:00.000Z');
  });
});
